import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  AUDIT_CHAIN_BREAK_TEXT,
  canonicalJson,
  checkAuditLink,
  Clock,
  GENESIS_HASH,
  type Actor,
  type AuditChainBreak,
  type AuditChainState,
} from '@app/domain';
import { AuditChainService } from './audit-chain.service.js';
import { PrismaService, type Transaction } from './prisma.service.js';

export interface AuditEntry {
  readonly actor: Actor;
  /** `organization.created`, `api_key.revoked`, … */
  readonly action: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly organizationId?: string | null;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly requestId?: string | null;
}

export interface AuditChainReport {
  readonly valid: boolean;
  /** Links checked by this verification (from `fromPosition` on). */
  readonly checked: number;
  /** Verification started after this position (0: the whole chain). */
  readonly fromPosition: number;
  /** The first event whose link does not follow from its content and predecessor. */
  readonly firstBrokenEventId: string | null;
  /** Its position in the chain. */
  readonly brokenAtPosition: number | null;
  readonly problem: AuditChainBreak | 'unchained_events' | null;
  /** A sentence saying what is wrong, null when nothing is. */
  readonly detail: string | null;
  /** Position, hash and event of the last link that verified. */
  readonly lastPosition: number;
  readonly lastHash: string;
  readonly lastEventId: string | null;
  /** Events with neither a link nor a place in the queue to get one: kept out of the chain (full check only). */
  readonly unchained: number;
}

export interface VerifyFrom {
  /** A link already verified (a checkpoint's): start after it. */
  readonly position: number;
  readonly hash: string;
}

/** A JSON-safe copy (Dates as ISO strings), identical to what jsonb will give back. */
function snapshot(value: unknown): unknown {
  return value === undefined || value === null ? null : JSON.parse(canonicalJson(value));
}

/**
 * The audit trail. `append` must run inside the transaction that makes the
 * change, so that a change and its record commit or fail together. It takes
 * no lock: the event is linked into the hash chain right after it commits
 * (AuditChainService).
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly prisma: PrismaService,
    private readonly clock: Clock,
    private readonly chain: AuditChainService,
  ) {}

  async append(tx: Transaction, entry: AuditEntry): Promise<void> {
    const before = snapshot(entry.before);
    const after = snapshot(entry.after);
    await tx.auditEvent.create({
      data: {
        id: randomUUID(),
        occurredAt: this.clock.now(),
        actorId: entry.actor.id,
        actorName: entry.actor.name,
        actorRole: entry.actor.role,
        actorOwner: entry.actor.owner ?? null,
        action: entry.action,
        entityType: entry.entityType,
        entityId: entry.entityId,
        organizationId: entry.organizationId ?? null,
        before: before ?? undefined,
        after: after ?? undefined,
        requestId: entry.requestId ?? null,
      },
    });
    this.chain.appended();
  }

  /**
   * Links what committed, then recomputes the chain in order: from the
   * start, or after a link already verified (`from`, a checkpoint's). Any
   * edited, removed, inserted or reordered event breaks it.
   */
  async verifyChain(from?: VerifyFrom, batchSize = 1000): Promise<AuditChainReport> {
    await this.chain.chainPending();
    const start: AuditChainState = from ?? { position: 0, hash: GENESIS_HASH };
    let state = start;
    let lastEventId: string | null = null;
    let checked = 0;
    const report = (rest: Partial<AuditChainReport>): AuditChainReport => ({
      valid: true,
      checked,
      fromPosition: start.position,
      firstBrokenEventId: null,
      brokenAtPosition: null,
      problem: null,
      detail: null,
      lastPosition: state.position,
      lastHash: state.hash,
      lastEventId,
      unchained: 0,
      ...rest,
    });
    if (from !== undefined && from.position > 0) {
      const anchor = await this.prisma.auditChainLink.findUnique({ where: { position: BigInt(from.position) } });
      if (anchor === null || anchor.hash !== from.hash) {
        return report({
          valid: false,
          problem: 'link_mismatch',
          brokenAtPosition: from.position,
          firstBrokenEventId: anchor?.eventId ?? null,
          detail: anchor === null ? `the chain no longer reaches position ${from.position}` : `the link at position ${from.position} was replaced`,
        });
      }
      lastEventId = anchor.eventId;
    }
    for (;;) {
      const links = await this.prisma.auditChainLink.findMany({
        where: { position: { gt: BigInt(state.position) } },
        orderBy: { position: 'asc' },
        take: batchSize,
      });
      const events = new Map(
        (await this.prisma.auditEvent.findMany({ where: { id: { in: links.map((link) => link.eventId) } } })).map((event) => [event.id, event]),
      );
      for (const link of links) {
        const next = checkAuditLink(state, {
          position: Number(link.position),
          prevHash: link.prevHash,
          hash: link.hash,
          event: events.get(link.eventId) ?? null,
        });
        if (typeof next === 'string') {
          return report({
            valid: false,
            firstBrokenEventId: link.eventId,
            brokenAtPosition: Number(link.position),
            problem: next,
            detail: AUDIT_CHAIN_BREAK_TEXT[next],
          });
        }
        state = next;
        lastEventId = link.eventId;
        checked += 1;
      }
      if (links.length < batchSize) {
        break;
      }
    }
    if (from === undefined) {
      const unchained = await this.unchainedEvents();
      if (unchained.count > 0) {
        return report({
          valid: false,
          unchained: unchained.count,
          firstBrokenEventId: unchained.firstId,
          problem: 'unchained_events',
          detail: `${unchained.count} event(s) are in neither the chain nor its queue: they were kept out of the chain`,
        });
      }
    }
    return report({});
  }

  /** Events with no link and no place in the queue (the queue entry is written with the event, so this never happens by itself). */
  private async unchainedEvents(): Promise<{ count: number; firstId: string | null }> {
    const rows = await this.prisma.$queryRaw<{ count: bigint; first_id: string | null }[]>`
      SELECT count(*) AS count, (array_agg(e.id ORDER BY e.seq))[1]::text AS first_id
      FROM audit_events e
      WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id)
        AND NOT EXISTS (SELECT 1 FROM audit_unchained u WHERE u.event_id = e.id)`;
    return { count: Number(rows[0]?.count ?? 0n), firstId: rows[0]?.first_id ?? null };
  }
}
