import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import type { FeedHead } from './allowlist.repository.js';
import { entryFromTuple, entryToTuple, type EntryTuple } from './entry-tuple.js';
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

/**
 * A feed entry in a snapshot row: [exceptionId, organizationId, scope,
 * heloHostname, addresses, startsAt ms, expiresAt ms, seq of the event that
 * recorded this state].
 */
type CompactEntry = [...EntryTuple, number];

/** An exception's state in the list, with the position (`seq`) of the event that recorded it. */
interface Listed {
  entry: AllowlistEntry;
  seq: bigint;
}

const compact = ({ entry, seq }: Listed): CompactEntry => [...entryToTuple(entry), Number(seq)];

const expand = (row: CompactEntry): Listed => ({ entry: entryFromTuple(row.slice(0, 7) as EntryTuple), seq: BigInt(row[7]) });

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
const entriesOf = (states: Map<string, Listed>) => [...states.values()].map((listed) => listed.entry).sort(byId);

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
      return { head: await this.versionAt(tx, instant), candidates: entriesOf(states), cost };
    }, READ);
  }

  replayAt(instant: Date): Promise<AllowlistAt> {
    return this.prisma.$transaction(async (tx) => {
      const { states, eventsRead } = await this.replay(tx, instant);
      return { head: await this.versionAt(tx, instant), candidates: entriesOf(states), cost: { snapshotCutAt: null, eventsRead } };
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
      const { states, throughSeq } = await this.statesAt(tx, cutAt);
      const entries = [...states.values()].sort((a, b) => byId(a.entry, b.entry)).map(compact);
      // Two workers racing to the same cut write the same content: the first one stays.
      await tx.$executeRaw`
        INSERT INTO allowlist_state_snapshots (cut_at, through_seq, entry_count, entries)
        VALUES (${cutAt}, ${throughSeq}, ${entries.length}, ${JSON.stringify(entries)}::jsonb)
        ON CONFLICT (cut_at) DO NOTHING`;
      return { cutAt, entries: entries.length };
    }, READ);
  }

  /** The states at `instant`, and the highest seq of the exception events dated at or before it. */
  private async statesAt(
    tx: Transaction,
    instant: Date,
  ): Promise<{ states: Map<string, Listed>; throughSeq: bigint; cost: AllowlistAt['cost'] }> {
    const [base] = await tx.$queryRaw<{ cut_at: Date; through_seq: bigint; entries: CompactEntry[] }[]>`
      SELECT cut_at, through_seq, entries FROM allowlist_state_snapshots WHERE cut_at <= ${instant} ORDER BY cut_at DESC LIMIT 1`;
    if (base === undefined) {
      const { states, throughSeq, eventsRead } = await this.replay(tx, instant);
      return { states, throughSeq, cost: { snapshotCutAt: null, eventsRead } };
    }
    const states = new Map(base.entries.map((entry) => [entry[0], expand(entry)] as const));
    // Each exception's last event in (cut, instant].
    const rows = await tx.$queryRaw<{ entity_id: string; seq: bigint; after: Record<string, unknown> | null }[]>`
      SELECT DISTINCT ON (entity_id) entity_id, seq, after FROM audit_events
      WHERE entity_type = 'exception' AND occurred_at > ${base.cut_at} AND occurred_at <= ${instant}
      ORDER BY entity_id, seq DESC`;
    // `seq` (insertion order) and `occurred_at` (the change's clock) may disagree
    // by a transaction's length: the last state is the one with the highest seq,
    // whichever side of the cut it is dated. The snapshot keeps the seq of what it
    // lists; for an exception it does not list, only a return to the list needs a
    // look at whether an event dated at or before the cut came later — and only
    // when recorded before the last of those (through_seq): rarely.
    const returning: { id: string; seq: bigint; entry: AllowlistEntry }[] = [];
    let throughSeq = base.through_seq;
    for (const row of rows) {
      throughSeq = row.seq > throughSeq ? row.seq : throughSeq;
      const entry = entryFromAuditState(row.after);
      const listed = states.get(row.entity_id);
      if (listed !== undefined) {
        if (row.seq > listed.seq) {
          if (entry === null) states.delete(row.entity_id);
          else states.set(row.entity_id, { entry, seq: row.seq });
        }
      } else if (entry !== null && row.seq < base.through_seq) {
        returning.push({ id: row.entity_id, seq: row.seq, entry });
      } else if (entry !== null) {
        states.set(row.entity_id, { entry, seq: row.seq });
      }
    }
    const superseded = new Set<string>();
    if (returning.length > 0) {
      const found = await tx.$queryRaw<{ id: string }[]>`
        SELECT c.id::text AS id FROM unnest(${returning.map((item) => item.id)}::uuid[], ${returning.map((item) => item.seq.toString())}::bigint[]) AS c(id, seq)
        WHERE EXISTS (SELECT 1 FROM audit_events x
                      WHERE x.entity_type = 'exception' AND x.entity_id = c.id AND x.occurred_at <= ${base.cut_at} AND x.seq > c.seq)`;
      found.forEach((row) => superseded.add(row.id));
    }
    for (const item of returning) {
      if (!superseded.has(item.id)) {
        states.set(item.id, { entry: item.entry, seq: item.seq });
      }
    }
    return { states, throughSeq, cost: { snapshotCutAt: base.cut_at, eventsRead: rows.length } };
  }

  private async replay(tx: Transaction, instant: Date): Promise<{ states: Map<string, Listed>; throughSeq: bigint; eventsRead: number }> {
    const rows = await tx.$queryRaw<{ entity_id: string; seq: bigint; after: Record<string, unknown> | null }[]>`
      SELECT DISTINCT ON (entity_id) entity_id, seq, after FROM audit_events
      WHERE entity_type = 'exception' AND occurred_at <= ${instant}
      ORDER BY entity_id, seq DESC`;
    const states = new Map<string, Listed>();
    let throughSeq = 0n;
    for (const row of rows) {
      throughSeq = row.seq > throughSeq ? row.seq : throughSeq;
      const entry = entryFromAuditState(row.after);
      if (entry !== null) {
        states.set(row.entity_id, { entry, seq: row.seq });
      }
    }
    return { states, throughSeq, eventsRead: rows.length };
  }

  private async versionAt(tx: Transaction, instant: Date): Promise<FeedHead> {
    const [version] = await tx.$queryRaw<{ version: bigint; changed_at: Date }[]>`
      SELECT version, changed_at FROM feed_versions WHERE changed_at <= ${instant} ORDER BY version DESC LIMIT 1`;
    return { version: version?.version ?? 0n, changedAt: version?.changed_at ?? new Date(0) };
  }
}
