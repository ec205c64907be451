import { Injectable } from '@nestjs/common';
import { AuditLog, type AuditChainReport } from '@app/database';
import { InvalidFieldError, InvalidOwnerError, normalizeOwner, RuleViolationError, unknownCursorError, type Page } from '@app/domain';
import { AuditEventsRepository, type AuditEventFilter, type AuditEventRecord } from './audit-events.repository.js';

export interface AuditEventView {
  id: string;
  occurredAt: Date;
  actor: { id: string | null; name: string; role: string; owner: string | null };
  action: string;
  entityType: string;
  entityId: string;
  organizationId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

function toView(record: AuditEventRecord): AuditEventView {
  return {
    id: record.id,
    occurredAt: record.occurredAt,
    actor: { id: record.actorId, name: record.actorName, role: record.actorRole, owner: record.actorOwner },
    action: record.action,
    entityType: record.entityType,
    entityId: record.entityId,
    organizationId: record.organizationId,
    before: record.before ?? null,
    after: record.after ?? null,
    requestId: record.requestId,
  };
}

/** Owners are stored normalized: `Alice@Example.com` finds `alice@example.com`. */
function ownerFilter(owner: string | undefined): string | undefined {
  try {
    return owner === undefined ? undefined : normalizeOwner(owner);
  } catch (error) {
    throw error instanceof InvalidOwnerError ? new InvalidFieldError('actorOwner', error.message) : error;
  }
}

const encodeSeqCursor = (seq: bigint) => Buffer.from(`seq:${seq}`).toString('base64url');

function decodeSeqCursor(cursor: string): bigint | undefined {
  const match = /^seq:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? BigInt(match[1]!) : undefined;
}

@Injectable()
export class AuditEventsService {
  constructor(
    private readonly events: AuditEventsRepository,
    private readonly audit: AuditLog,
  ) {}

  async list(filter: AuditEventFilter, limit: number, cursor?: string): Promise<Page<AuditEventView>> {
    const beforeSeq = cursor === undefined ? undefined : decodeSeqCursor(cursor);
    if (cursor !== undefined && beforeSeq === undefined) {
      throw unknownCursorError();
    }
    if (filter.from && filter.to && filter.from >= filter.to) {
      throw new RuleViolationError('from must be before to');
    }
    const rows = await this.events.list({ ...filter, actorOwner: ownerFilter(filter.actorOwner) }, limit + 1, beforeSeq);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(toView), nextCursor: rows.length > limit && last ? encodeSeqCursor(last.seq) : null };
  }

  /** Every event about one entity, oldest first. */
  async history(entityType: string, entityId: string): Promise<AuditEventView[]> {
    const rows = await this.events.forEntity(entityType, entityId);
    return rows.map(toView);
  }

  verify(): Promise<AuditChainReport> {
    return this.audit.verifyChain();
  }
}
