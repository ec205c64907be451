import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import type { FeedHead } from './allowlist.repository.js';
import type { AllowlistEntry, ExceptionScope } from './render.js';

/**
 * How far a snapshot's cut stays behind the clock. An audit event carries the
 * time its change began and becomes visible when its transaction commits; the
 * longest transaction the services allow is 120 s. A snapshot taken of an
 * instant that recent could miss an event still on its way, and would then
 * differ from the trail for ever (snapshots are append-only).
 */
export const SNAPSHOT_SETTLE_MS = 10 * 60_000;

/** The list as it stood at an instant: the version then current, and the exceptions whose state then was `active`. */
export interface AllowlistAt {
  head: FeedHead;
  candidates: AllowlistEntry[];
  /** The snapshot the answer started from (null: the trail from its beginning), and how many events were read after it. */
  cost: { snapshotCutAt: Date | null; eventsRead: number };
}

/** A feed entry in a snapshot row: [exceptionId, organizationId, scope, heloHostname, addresses, startsAt ms, expiresAt ms]. */
type CompactEntry = [string, string, ExceptionScope, string, string[], number, number];

const compact = (entry: AllowlistEntry): CompactEntry => [
  entry.exceptionId,
  entry.organizationId,
  entry.scope,
  entry.heloHostname,
  entry.addresses,
  entry.startsAt.getTime(),
  entry.expiresAt.getTime(),
];

const expand = ([exceptionId, organizationId, scope, heloHostname, addresses, startsAt, expiresAt]: CompactEntry): AllowlistEntry => ({
  exceptionId,
  organizationId,
  scope,
  heloHostname,
  addresses,
  startsAt: new Date(startsAt),
  expiresAt: new Date(expiresAt),
});

/** An exception's recorded state (an audit event's `after`) as a feed entry, or null when that state keeps it off the list. */
export function entryFromAuditState(after: Record<string, unknown> | null): AllowlistEntry | null {
  if (after === null || after.status !== 'active') {
    return null;
  }
  return {
    exceptionId: String(after.id),
    organizationId: String(after.organizationId),
    scope: after.scope as ExceptionScope,
    heloHostname: String(after.heloHostname),
    addresses: after.addresses as string[],
    startsAt: new Date(String(after.startsAt)),
    expiresAt: new Date(String(after.expiresAt)),
  };
}

const byId = (a: AllowlistEntry, b: AllowlistEntry) => (a.exceptionId < b.exceptionId ? -1 : a.exceptionId > b.exceptionId ? 1 : 0);

const READ = { isolationLevel: 'RepeatableRead', timeout: 300_000, maxWait: 10_000 } as const;

/**
 * The allowlist's past, from the audit trail: the list at an instant is each
 * exception's last recorded state at or before it (the event with the
 * highest `seq` among those that occurred by then), kept when `active`.
 * Every change of an exception's status or window is an audit event, an
 * organization's suspension included (it suspends the exceptions, audited).
 *
 * `at()` starts from the nearest snapshot at or before the instant and reads
 * only the exception events after the snapshot's cut, up to the instant;
 * `replayAt()` reads the trail from its beginning, the reference `at()` is
 * held to (tests, benchmark).
 */
@Injectable()
export class AllowlistHistory {
  constructor(private readonly prisma: PrismaService) {}

  at(instant: Date): Promise<AllowlistAt> {
    return this.prisma.$transaction(async (tx) => {
      const { states, cost } = await this.statesAt(tx, instant);
      return { head: await this.versionAt(tx, instant), candidates: [...states.values()].sort(byId), cost };
    }, READ);
  }

  replayAt(instant: Date): Promise<AllowlistAt> {
    return this.prisma.$transaction(async (tx) => {
      const { states, eventsRead } = await this.replay(tx, instant);
      return { head: await this.versionAt(tx, instant), candidates: [...states.values()].sort(byId), cost: { snapshotCutAt: null, eventsRead } };
    }, READ);
  }

  /**
   * Records the snapshot at `now` less the settling time, when the last one
   * is at least `intervalMs` older and exception events happened since (the
   * worker calls this every minute). Answers the new cut, or null.
   */
  async snapshotIfDue(now: Date, intervalMs: number): Promise<{ cutAt: Date; entries: number } | null> {
    const cutAt = new Date(now.getTime() - SNAPSHOT_SETTLE_MS);
    const last = await this.prisma.allowlistStateSnapshot.findFirst({ orderBy: { cutAt: 'desc' }, select: { cutAt: true } });
    if (last !== null && cutAt.getTime() - last.cutAt.getTime() < intervalMs) {
      return null;
    }
    const moved = await this.prisma.auditEvent.findFirst({
      where: { entityType: 'exception', occurredAt: { gt: last?.cutAt, lte: cutAt } },
      select: { id: true },
    });
    if (moved === null) {
      return null;
    }
    return this.snapshot(cutAt);
  }

  /**
   * Records the list as of `cutAt` (from the snapshot before it and the
   * events between). The caller vouches that no event dated at or before
   * `cutAt` can still arrive (see SNAPSHOT_SETTLE_MS).
   */
  async snapshot(cutAt: Date): Promise<{ cutAt: Date; entries: number }> {
    return this.prisma.$transaction(async (tx) => {
      const { states } = await this.statesAt(tx, cutAt);
      const entries = [...states.values()].sort(byId).map(compact);
      // Two workers racing to the same cut write the same content: the first one stays.
      await tx.$executeRaw`
        INSERT INTO allowlist_state_snapshots (cut_at, entry_count, entries)
        VALUES (${cutAt}, ${entries.length}, ${JSON.stringify(entries)}::jsonb)
        ON CONFLICT (cut_at) DO NOTHING`;
      return { cutAt, entries: entries.length };
    }, READ);
  }

  private async statesAt(tx: Transaction, instant: Date): Promise<{ states: Map<string, AllowlistEntry>; cost: AllowlistAt['cost'] }> {
    const [base] = await tx.$queryRaw<{ cut_at: Date; entries: CompactEntry[] }[]>`
      SELECT cut_at, entries FROM allowlist_state_snapshots WHERE cut_at <= ${instant} ORDER BY cut_at DESC LIMIT 1`;
    if (base === undefined) {
      const { states, eventsRead } = await this.replay(tx, instant);
      return { states, cost: { snapshotCutAt: null, eventsRead } };
    }
    const states = new Map(base.entries.map((entry) => [entry[0], expand(entry)] as const));
    // Each exception's last event in (cut, instant]. `seq` (insertion order) and
    // `occurred_at` (the change's clock) may disagree by a transaction's length:
    // an event dated after the cut but inserted before one dated at or before it
    // is not the exception's last state — the snapshot already holds that.
    const rows = await tx.$queryRaw<{ entity_id: string; after: Record<string, unknown> | null; superseded: boolean }[]>`
      SELECT d.entity_id, d.after,
             d.seq < coalesce((SELECT max(x.seq) FROM audit_events x
                               WHERE x.entity_type = 'exception' AND x.entity_id = d.entity_id AND x.occurred_at <= ${base.cut_at}), 0) AS superseded
      FROM (SELECT DISTINCT ON (entity_id) entity_id, seq, after FROM audit_events
            WHERE entity_type = 'exception' AND occurred_at > ${base.cut_at} AND occurred_at <= ${instant}
            ORDER BY entity_id, seq DESC) d`;
    for (const row of rows) {
      if (row.superseded) {
        continue;
      }
      const entry = entryFromAuditState(row.after);
      if (entry === null) {
        states.delete(row.entity_id);
      } else {
        states.set(row.entity_id, entry);
      }
    }
    return { states, cost: { snapshotCutAt: base.cut_at, eventsRead: rows.length } };
  }

  private async replay(tx: Transaction, instant: Date): Promise<{ states: Map<string, AllowlistEntry>; eventsRead: number }> {
    const rows = await tx.$queryRaw<{ entity_id: string; after: Record<string, unknown> | null }[]>`
      SELECT DISTINCT ON (entity_id) entity_id, after FROM audit_events
      WHERE entity_type = 'exception' AND occurred_at <= ${instant}
      ORDER BY entity_id, seq DESC`;
    const states = new Map<string, AllowlistEntry>();
    for (const row of rows) {
      const entry = entryFromAuditState(row.after);
      if (entry !== null) {
        states.set(row.entity_id, entry);
      }
    }
    return { states, eventsRead: rows.length };
  }

  private async versionAt(tx: Transaction, instant: Date): Promise<FeedHead> {
    const [version] = await tx.$queryRaw<{ version: bigint; changed_at: Date }[]>`
      SELECT version, changed_at FROM feed_versions WHERE changed_at <= ${instant} ORDER BY version DESC LIMIT 1`;
    return { version: version?.version ?? 0n, changedAt: version?.changed_at ?? new Date(0) };
  }
}
