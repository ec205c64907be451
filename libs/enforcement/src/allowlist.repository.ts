import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/database';
import { entryFromJson, type ChangeNotice, type EntryJson } from './feed-wire.js';
import type { AllowlistEntry, ExceptionScope } from './render.js';

export interface FeedHead {
  version: bigint;
  changedAt: Date;
}

/** A fingerprint of the candidates in effect now or later: their number and a sum of per-entry hashes. */
export interface ListDigest {
  version: bigint;
  count: number;
  sum: bigint;
}

/** The text each entry is hashed from, the same in SQL (digest()) and in the store (entryDigestText). */
export function entryDigestText(entry: AllowlistEntry): string {
  return [
    entry.exceptionId,
    entry.organizationId,
    entry.scope,
    entry.heloHostname,
    entry.addresses.join(','),
    entry.startsAt.getTime(),
    entry.expiresAt.getTime(),
  ].join('|');
}

interface EntryRow {
  id: string;
  organization_id: string;
  scope: ExceptionScope;
  helo_hostname: string;
  addresses: string[];
  starts_at: Date;
  expires_at: Date;
}

const toEntry = (row: EntryRow): AllowlistEntry => ({
  exceptionId: row.id,
  organizationId: row.organization_id,
  scope: row.scope,
  heloHostname: row.helo_hostname,
  addresses: row.addresses,
  startsAt: row.starts_at,
  expiresAt: row.expires_at,
});

/** The only place that reads the database for the allowlist. */
@Injectable()
export class AllowlistRepository {
  constructor(private readonly prisma: PrismaService) {}

  async head(): Promise<FeedHead> {
    const row = await this.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } });
    return { version: row.version, changedAt: row.changedAt };
  }

  /**
   * The version and every exception in effect now or later, read in one
   * snapshot transaction so that the version names exactly this set. Those
   * that expired since the version began (but before now) come too: their
   * expiry is the instant the list last changed by itself, which the
   * rendering's "as of" names — as it does in a process that held them.
   */
  async load(now: Date): Promise<{ head: FeedHead; candidates: AllowlistEntry[] }> {
    return this.prisma.$transaction(
      async (tx) => {
        const head = await tx.feedState.findUniqueOrThrow({ where: { id: 1 } });
        const rows = await tx.$queryRaw<EntryRow[]>`
          SELECT e.id, e.organization_id, e.scope, e.helo_hostname, e.addresses, e.starts_at, e.expires_at
          FROM exceptions e JOIN organizations o ON o.id = e.organization_id
          WHERE e.status = 'active' AND o.status = 'active' AND e.expires_at > LEAST(${now}::timestamptz, ${head.changedAt}::timestamptz)`;
        return { head: { version: head.version, changedAt: head.changedAt }, candidates: rows.map(toEntry) };
      },
      // A million rows take seconds to turn into values: far beyond Prisma's 5 s default.
      { isolationLevel: 'RepeatableRead', timeout: 120_000, maxWait: 10_000 },
    );
  }

  /**
   * What changed after version `from`, version by version, up to the current
   * one — or null when the change log no longer reaches back that far (pruned,
   * or versions written before the log existed): then only a full load helps.
   */
  async changesSince(from: bigint): Promise<{ head: FeedHead; changes: ChangeNotice[] } | null> {
    return this.prisma.$transaction(
      async (tx) => {
        const head = await tx.feedState.findUniqueOrThrow({ where: { id: 1 } });
        const rows = await tx.$queryRaw<{ version: bigint; changed_at: Date; exception_id: string; entry: EntryJson | null }[]>`
          SELECT c.version, v.changed_at, c.exception_id, c.entry
          FROM feed_changes c JOIN feed_versions v ON v.version = c.version
          WHERE c.version > ${from} AND c.version <= ${head.version}
          ORDER BY c.version, c.exception_id`;
        const changes: ChangeNotice[] = [];
        for (const row of rows) {
          let last = changes[changes.length - 1];
          if (last?.version !== row.version) {
            last = { version: row.version, changedAt: row.changed_at, states: [] };
            changes.push(last);
          }
          last.states!.push({ exceptionId: row.exception_id, entry: entryFromJson(row.exception_id, row.entry) });
        }
        // Every version writes at least one row: a version without any was pruned (or predates the log).
        if (BigInt(changes.length) !== head.version - from) {
          return null;
        }
        return { head: { version: head.version, changedAt: head.changedAt }, changes };
      },
      { isolationLevel: 'RepeatableRead', timeout: 60_000, maxWait: 10_000 },
    );
  }

  /**
   * The net change after version `from`: each exception touched since, with
   * the state it is in now (its entry, or null when it left the list). Null
   * when the change log no longer reaches back that far; `tooMany` when more
   * than `limit` exceptions moved (a full fetch is then the cheaper answer).
   */
  async netChangesSince(
    from: bigint,
    limit: number,
  ): Promise<{ head: FeedHead; states: { exceptionId: string; entry: EntryJson | null }[] } | 'gone' | 'ahead' | 'too-many'> {
    return this.prisma.$transaction(
      async (tx) => {
        const head = await tx.feedState.findUniqueOrThrow({ where: { id: 1 } });
        if (from > head.version) {
          return 'ahead' as const;
        }
        const [reach] = await tx.$queryRaw<{ versions: bigint }[]>`
          SELECT count(DISTINCT version) AS versions FROM feed_changes WHERE version > ${from} AND version <= ${head.version}`;
        if (BigInt(reach?.versions ?? 0n) !== head.version - from) {
          return 'gone' as const;
        }
        const rows = await tx.$queryRaw<{ exception_id: string; entry: EntryJson | null }[]>`
          SELECT DISTINCT ON (exception_id) exception_id, entry FROM feed_changes
          WHERE version > ${from} AND version <= ${head.version}
          ORDER BY exception_id, version DESC LIMIT ${limit + 1}`;
        if (rows.length > limit) {
          return 'too-many' as const;
        }
        return {
          head: { version: head.version, changedAt: head.changedAt },
          states: rows.map((row) => ({ exceptionId: row.exception_id, entry: row.entry })),
        };
      },
      { isolationLevel: 'RepeatableRead', timeout: 60_000, maxWait: 10_000 },
    );
  }

  /**
   * The digest of the candidates in effect at `now` or later, with the version
   * it belongs to (read together), computed inside PostgreSQL so that no row
   * travels: the periodic comparison with memory that finds drift.
   */
  async digest(now: Date): Promise<ListDigest> {
    return this.prisma.$transaction(
      async (tx) => {
        const head = await tx.feedState.findUniqueOrThrow({ where: { id: 1 } });
        const [row] = await tx.$queryRaw<{ count: bigint; sum: bigint | null }[]>`
          SELECT count(*) AS count, sum(('x' || substr(md5(concat_ws('|', e.id, e.organization_id, e.scope, e.helo_hostname,
              array_to_string(e.addresses, ','), (extract(epoch FROM e.starts_at) * 1000)::bigint,
              (extract(epoch FROM e.expires_at) * 1000)::bigint)), 1, 8))::bit(32)::bigint)::bigint AS sum
          FROM exceptions e JOIN organizations o ON o.id = e.organization_id
          WHERE e.status = 'active' AND o.status = 'active' AND e.expires_at > ${now}`;
        return { version: head.version, count: Number(row?.count ?? 0n), sum: row?.sum ?? 0n };
      },
      { isolationLevel: 'RepeatableRead', timeout: 120_000, maxWait: 10_000 },
    );
  }
}
