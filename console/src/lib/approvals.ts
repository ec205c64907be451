import type { Exception } from '../types.js';

/** What waits for a second person on an exception the API lists as awaiting approval: the grant itself, or a renewal of it. */
export interface WaitingRequest {
  kind: 'grant' | 'renewal';
  /** Who asked for what waits (four eyes: never the person deciding). */
  requestedByOwner: string | null;
  /** Why it needs a second person, as the API recorded it. */
  approvalReasons: string[];
}

export function waitingRequest(exception: Exception): WaitingRequest {
  if (exception.status !== 'pending_approval' && exception.renewal !== null) {
    return { kind: 'renewal', requestedByOwner: exception.renewal.requestedByOwner, approvalReasons: exception.renewal.approvalReasons ?? [] };
  }
  return { kind: 'grant', requestedByOwner: exception.requestedByOwner, approvalReasons: exception.approvalReasons };
}

/** The queue of one person: what the API lists as awaiting approval, less what that person asked for themselves. */
export function queueFor(items: readonly Exception[], owner: string | null): Exception[] {
  return items.filter((item) => owner === null || waitingRequest(item).requestedByOwner !== owner);
}
