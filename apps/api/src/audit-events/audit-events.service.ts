import { Injectable } from '@nestjs/common';
import {
  AuditCheckpointService,
  AuditExportService,
  AuditLog,
  type AuditExportFormat,
  type AuditChainReport,
  type CheckpointPublication,
  type CheckpointVerification,
  type StoredAuditCheckpoint,
} from '@app/database';
import {
  describeChanges,
  NotFoundError,
  type FieldChange,
  InvalidFieldError,
  InvalidOwnerError,
  normalizeOwner,
  RuleViolationError,
  unknownCursorError,
  type Actor,
  type Page,
  type SignedAuditCheckpoint,
} from '@app/domain';
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

export interface ResourceStateView {
  entityType: string;
  entityId: string;
  asOf: Date;
  state: unknown;
  event: AuditEventView | null;
}

export interface HistoryEventView extends AuditEventView {
  changes: FieldChange[];
}

const RESOURCE_NAMES = { organization: 'organization', mail_server: 'mail server', domain: 'domain' } as const;

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
    private readonly checkpoints: AuditCheckpointService,
    private readonly exporter: AuditExportService,
  ) {}

  /** The export's lines; the filter is checked before the first byte, so a bad one is a 400, never a broken file. */
  exportLines(filter: AuditEventFilter, format: AuditExportFormat): AsyncGenerator<string> {
    if (filter.from && filter.to && filter.from >= filter.to) {
      throw new RuleViolationError('from must be before to');
    }
    return this.exporter.lines({ ...filter, actorOwner: ownerFilter(filter.actorOwner) }, format);
  }

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

  /** Every event about one entity, oldest first, each with what it changed. */
  async history(entityType: string, entityId: string): Promise<HistoryEventView[]> {
    const rows = await this.events.forEntity(entityType, entityId);
    return rows.map((row) => ({ ...toView(row), changes: describeChanges(row.before, row.after) }));
  }

  /**
   * Any resource as it stood at `asOf`: what the last event at or before it
   * recorded. 404 when the trail names no such resource at all.
   */
  async stateAt(entityType: string, entityId: string, asOf: Date): Promise<ResourceStateView> {
    const { last, known } = await this.events.lastAtOrBefore(entityType, entityId, asOf);
    if (!known) {
      throw new NotFoundError('resource in the audit trail');
    }
    return { entityType, entityId, asOf, state: last?.after ?? null, event: last === null ? null : toView(last) };
  }

  /** The history of an organization, mail server or domain: 404 when there is no such resource. */
  async resourceHistory(resource: 'organization' | 'mail_server' | 'domain', id: string): Promise<HistoryEventView[]> {
    if (!(await this.events.resourceExists(resource, id))) {
      throw new NotFoundError(RESOURCE_NAMES[resource]);
    }
    return this.history(resource, id);
  }

  /** Incremental (from the last checkpoint) unless `full`; against a checkpoint kept elsewhere when one is given. */
  verify(mode: 'incremental' | 'full' = 'incremental', checkpoint?: string): Promise<AuditChainReport | CheckpointVerification> {
    if (checkpoint !== undefined) {
      return this.checkpoints.verifyAgainst(parseCheckpoint(checkpoint));
    }
    return mode === 'full' ? this.audit.verifyChain() : this.checkpoints.verifyIncremental();
  }

  createCheckpoint(actor: Actor): Promise<{ checkpoint: StoredAuditCheckpoint; published: CheckpointPublication }> {
    return this.checkpoints.create(`${actor.name} (${actor.role})`);
  }

  async listCheckpoints(limit: number, cursor?: string): Promise<Page<StoredAuditCheckpoint>> {
    const before = cursor === undefined ? undefined : decodeCheckpointCursor(cursor);
    if (cursor !== undefined && before === undefined) {
      throw unknownCursorError();
    }
    const rows = await this.checkpoints.list(limit + 1, before);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { items: page, nextCursor: rows.length > limit && last ? encodeCheckpointCursor(last) : null };
  }
}

const encodeCheckpointCursor = (checkpoint: StoredAuditCheckpoint) => Buffer.from(`cp:${checkpoint.at}|${checkpoint.id}`).toString('base64url');

function decodeCheckpointCursor(cursor: string): { at: Date; id: string } | undefined {
  const match = /^cp:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? { at: new Date(match[1]!), id: match[2]! } : undefined;
}

/** A checkpoint as kept outside: the six fields, nothing else, each of its type. */
function parseCheckpoint(text: string): SignedAuditCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidFieldError('checkpoint', 'must be a checkpoint as JSON');
  }
  const c = value as Record<string, unknown>;
  const ok =
    typeof c === 'object' &&
    c !== null &&
    (c.lastEventId === null || (typeof c.lastEventId === 'string' && /^[0-9a-f-]{36}$/.test(c.lastEventId))) &&
    typeof c.lastHash === 'string' &&
    /^[0-9a-f]{64}$/.test(c.lastHash) &&
    Number.isSafeInteger(c.count) &&
    (c.count as number) >= 0 &&
    typeof c.at === 'string' &&
    !Number.isNaN(Date.parse(c.at)) &&
    typeof c.signature === 'string' &&
    typeof c.publicKey === 'string';
  if (!ok) {
    throw new InvalidFieldError('checkpoint', 'must hold lastEventId, lastHash, count, at, signature and publicKey as a checkpoint gives them');
  }
  return {
    lastEventId: c.lastEventId as string | null,
    lastHash: c.lastHash as string,
    count: c.count as number,
    at: c.at as string,
    signature: c.signature as string,
    publicKey: c.publicKey as string,
  };
}
