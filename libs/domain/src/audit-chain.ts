import { canonicalJson, sha256Hex } from './canonical-json.js';

/**
 * The audit trail's hash chain, as pure functions: the service, the worker
 * and the offline verifier (`audit verify --file`) compute it the same way.
 * Link n's hash is sha256(link n-1's hash + the canonical JSON of event n);
 * the first link follows GENESIS_HASH.
 */
export const GENESIS_HASH = '0'.repeat(64);

/** An event as it is hashed (field names and order do not matter: canonical JSON sorts them). */
export interface HashedAuditEvent {
  id: string;
  /** ISO-8601 with milliseconds, UTC (what a Date gives in canonical JSON). */
  occurredAt: Date | string;
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

/** The stored form of an event, whatever its source (a database row, an export line). */
export interface AuditEventContent {
  id: string;
  occurredAt: Date | string;
  actorId: string | null;
  actorName: string;
  actorRole: string;
  actorOwner: string | null | undefined;
  action: string;
  entityType: string;
  entityId: string;
  organizationId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export function hashedAuditEvent(event: AuditEventContent): HashedAuditEvent {
  const occurredAt = event.occurredAt instanceof Date ? event.occurredAt : new Date(event.occurredAt);
  return {
    id: event.id,
    occurredAt,
    actorId: event.actorId ?? null,
    actorName: event.actorName,
    actorRole: event.actorRole,
    ...(event.actorOwner === null || event.actorOwner === undefined ? {} : { actorOwner: event.actorOwner }),
    action: event.action,
    entityType: event.entityType,
    entityId: event.entityId,
    organizationId: event.organizationId ?? null,
    before: event.before ?? null,
    after: event.after ?? null,
    requestId: event.requestId ?? null,
  };
}

export function auditEventHash(prevHash: string, event: AuditEventContent): string {
  return sha256Hex(prevHash + canonicalJson(hashedAuditEvent(event)));
}

/** One link of the chain, with the event it holds. */
export interface AuditChainLink {
  position: number;
  prevHash: string;
  hash: string;
  event: AuditEventContent | null;
}

export type AuditChainBreak =
  /** The event's content no longer gives the hash recorded for it: it was rewritten. */
  | 'event_rewritten'
  /** The link does not name the hash before it: links were removed, inserted or reordered. */
  | 'link_mismatch'
  /** A position is missing: links were removed. */
  | 'position_gap'
  /** The link's event is gone. */
  | 'event_missing';

export interface AuditChainState {
  /** Position and hash of the last link checked (0 and GENESIS_HASH before the first). */
  position: number;
  hash: string;
}

/**
 * Checks one link against the state before it; answers the new state, or why
 * the link breaks the chain.
 */
export function checkAuditLink(state: AuditChainState, link: AuditChainLink): AuditChainState | AuditChainBreak {
  if (link.position !== state.position + 1) {
    return 'position_gap';
  }
  if (link.prevHash !== state.hash) {
    return 'link_mismatch';
  }
  if (link.event === null) {
    return 'event_missing';
  }
  if (auditEventHash(state.hash, link.event) !== link.hash) {
    return 'event_rewritten';
  }
  return { position: link.position, hash: link.hash };
}

export const AUDIT_CHAIN_BREAK_TEXT: Record<AuditChainBreak, string> = {
  event_rewritten: 'the event was changed after it was recorded: its content no longer gives its hash',
  link_mismatch: 'the link does not follow the one before it: events were removed, inserted or reordered',
  position_gap: 'a position is missing: events were removed from the chain',
  event_missing: 'the event this link holds is gone',
};
