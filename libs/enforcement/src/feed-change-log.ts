import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import { encodeChangeNotice, type EntryJson } from './feed-wire.js';

/** The channel every api and policy-server process listens on for allowlist changes. */
export const FEED_CHANNEL = 'helopass_feed';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7999;

/**
 * The one writer of allowlist versions. Every change to what is in the
 * allowlist calls `record()` inside its own transaction, after writing the
 * exceptions it changed: the version goes up by one, the change log keeps the
 * state each of those exceptions now has in the list (its entry, or none),
 * and a NOTIFY carries the change itself when it fits (else the version
 * only, and listeners read the log). PostgreSQL delivers the NOTIFY only when
 * (and if) the transaction commits, so listeners never hear of a change that
 * rolled back, and the log row and the exception row commit together.
 */
@Injectable()
export class FeedChangeLog {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Forgets the change log of versions that began before `cutoff`, at most
   * `limit` rows, always keeping the current version's (a process one version
   * behind can always catch up from the log).
   */
  async prune(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM feed_changes WHERE ctid IN (
        SELECT c.ctid FROM feed_changes c JOIN feed_versions v ON v.version = c.version
        WHERE v.changed_at < ${cutoff} AND c.version < (SELECT version FROM feed_state WHERE id = 1)
        ORDER BY c.version LIMIT ${limit})`;
  }

  async record(tx: Transaction, exceptionIds: readonly string[]): Promise<bigint> {
    const [head] = await tx.$queryRaw<{ version: bigint; changed_at: Date }[]>`
      UPDATE feed_state SET version = version + 1, changed_at = clock_timestamp() WHERE id = 1 RETURNING version, changed_at`;
    const { version, changed_at: changedAt } = head!;
    await tx.$executeRaw`INSERT INTO feed_versions (version, changed_at) VALUES (${version}, ${changedAt})`;
    // An entry exactly as the snapshot loads it: an active exception of an active organization.
    const states = await tx.$queryRaw<{ exception_id: string; entry: EntryJson | null }[]>`
      INSERT INTO feed_changes (version, exception_id, entry)
      SELECT ${version}, e.id,
        CASE WHEN e.status = 'active' AND o.status = 'active' THEN jsonb_build_object(
          'organizationId', e.organization_id,
          'scope', e.scope,
          'heloHostname', e.helo_hostname,
          'addresses', to_jsonb(e.addresses),
          'startsAt', to_char(e.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'expiresAt', to_char(e.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
        END
      FROM exceptions e JOIN organizations o ON o.id = e.organization_id
      WHERE e.id = ANY(${[...exceptionIds]}::uuid[])
      RETURNING exception_id, entry`;
    let payload = encodeChangeNotice(version, changedAt, states.map((state) => [state.exception_id, state.entry]));
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      payload = encodeChangeNotice(version, changedAt, undefined);
    }
    await tx.$executeRaw`SELECT pg_notify(${FEED_CHANNEL}, ${payload})`;
    return version;
  }
}
