import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { canonicalJson, Clock, sha256Hex, type Actor } from '@app/domain';
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
  readonly checked: number;
  /** The first event whose hash does not follow from its content and predecessor. */
  readonly firstBrokenEventId: string | null;
  readonly lastHash: string;
}

const GENESIS_HASH = '0'.repeat(64);
// Serializes appends so that each event names the one before it.
const CHAIN_LOCK = 72_0402_2;

interface HashedFields {
  id: string;
  occurredAt: Date;
  actorId: string | null;
  actorName: string;
  actorRole: string;
  /** Absent (not null) when the actor has no owner, so events written before owners existed keep their hash. */
  actorOwner?: string;
  action: string;
  entityType: string;
  entityId: string;
  organizationId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

function eventHash(prevHash: string, event: HashedFields): string {
  return sha256Hex(prevHash + canonicalJson(event));
}

/** The owner as hashed: present only when there is one. */
function hashedOwner(owner: string | null | undefined): { actorOwner?: string } {
  return owner === null || owner === undefined ? {} : { actorOwner: owner };
}

/** A JSON-safe copy (Dates as ISO strings), identical to what jsonb will give back. */
function snapshot(value: unknown): unknown {
  return value === undefined || value === null ? null : JSON.parse(canonicalJson(value));
}

/**
 * The audit trail. `append` must run inside the transaction that makes the
 * change, so that a change and its record commit or fail together.
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly prisma: PrismaService,
    private readonly clock: Clock,
  ) {}

  async append(tx: Transaction, entry: AuditEntry): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
    const last = await tx.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { hash: true } });
    const prevHash = last?.hash ?? GENESIS_HASH;
    const fields: HashedFields = {
      id: randomUUID(),
      occurredAt: this.clock.now(),
      actorId: entry.actor.id,
      actorName: entry.actor.name,
      actorRole: entry.actor.role,
      ...hashedOwner(entry.actor.owner),
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId,
      organizationId: entry.organizationId ?? null,
      before: snapshot(entry.before),
      after: snapshot(entry.after),
      requestId: entry.requestId ?? null,
    };
    await tx.auditEvent.create({
      data: {
        ...fields,
        before: fields.before ?? undefined,
        after: fields.after ?? undefined,
        prevHash,
        hash: eventHash(prevHash, fields),
      },
    });
  }

  /** Recomputes the whole chain in order; any edited, removed or inserted event breaks it. */
  async verifyChain(batchSize = 1000): Promise<AuditChainReport> {
    let prevHash = GENESIS_HASH;
    let checked = 0;
    let afterSeq = -1n;
    for (;;) {
      const batch = await this.prisma.auditEvent.findMany({
        where: { seq: { gt: afterSeq } },
        orderBy: { seq: 'asc' },
        take: batchSize,
      });
      for (const event of batch) {
        const expected = eventHash(prevHash, {
          id: event.id,
          occurredAt: event.occurredAt,
          actorId: event.actorId,
          actorName: event.actorName,
          actorRole: event.actorRole,
          ...hashedOwner(event.actorOwner),
          action: event.action,
          entityType: event.entityType,
          entityId: event.entityId,
          organizationId: event.organizationId,
          before: event.before,
          after: event.after,
          requestId: event.requestId,
        });
        if (event.prevHash !== prevHash || event.hash !== expected) {
          return { valid: false, checked, firstBrokenEventId: event.id, lastHash: prevHash };
        }
        prevHash = event.hash;
        checked += 1;
        afterSeq = event.seq;
      }
      if (batch.length < batchSize) {
        return { valid: true, checked, firstBrokenEventId: null, lastHash: prevHash };
      }
    }
  }
}
