import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/database';
import type { AllowlistEntry, ExceptionScope } from './render.js';

export interface FeedHead {
  version: bigint;
  changedAt: Date;
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
   * snapshot transaction so that the version names exactly this set.
   */
  async load(now: Date): Promise<{ head: FeedHead; candidates: AllowlistEntry[] }> {
    return this.prisma.$transaction(
      async (tx) => {
        const head = await tx.feedState.findUniqueOrThrow({ where: { id: 1 } });
        const rows = await tx.$queryRaw<EntryRow[]>`
          SELECT e.id, e.organization_id, e.scope, e.helo_hostname, e.addresses, e.starts_at, e.expires_at
          FROM exceptions e JOIN organizations o ON o.id = e.organization_id
          WHERE e.status = 'active' AND o.status = 'active' AND e.expires_at > ${now}`;
        return { head: { version: head.version, changedAt: head.changedAt }, candidates: rows.map(toEntry) };
      },
      // A million rows take seconds to turn into values: far beyond Prisma's 5 s default.
      { isolationLevel: 'RepeatableRead', timeout: 120_000, maxWait: 10_000 },
    );
  }

  /**
   * The list as it stood at `instant`, rebuilt from the audit trail: each
   * exception's last recorded state at or before that instant (every change
   * of status or window is an audit event), and the version then current.
   */
  async at(instant: Date): Promise<{ head: FeedHead; candidates: AllowlistEntry[] }> {
    const states = await this.prisma.$queryRaw<{ after: Record<string, unknown> | null }[]>`
      SELECT DISTINCT ON (entity_id) after FROM audit_events
      WHERE entity_type = 'exception' AND occurred_at <= ${instant}
      ORDER BY entity_id, seq DESC`;
    const candidates = states
      .map((state) => state.after)
      .filter((after): after is Record<string, unknown> => after !== null && after.status === 'active')
      .map((after) => ({
        exceptionId: String(after.id),
        organizationId: String(after.organizationId),
        scope: after.scope as ExceptionScope,
        heloHostname: String(after.heloHostname),
        addresses: after.addresses as string[],
        startsAt: new Date(String(after.startsAt)),
        expiresAt: new Date(String(after.expiresAt)),
      }));
    const [version] = await this.prisma.$queryRaw<{ version: bigint; changed_at: Date }[]>`
      SELECT version, changed_at FROM feed_versions WHERE changed_at <= ${instant} ORDER BY version DESC LIMIT 1`;
    return { head: { version: version?.version ?? 0n, changedAt: version?.changed_at ?? new Date(0) }, candidates };
  }
}
