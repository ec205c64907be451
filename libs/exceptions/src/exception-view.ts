import { effectiveStatus, type SuspensionCause } from './exception-rules.js';
import type { ExceptionRecord } from './exceptions.repository.js';

/** Record fields the API does not show as they are stored. */
type Internal =
  | 'requestedByName'
  | 'suspendedAt'
  | 'renewalExpiresAt'
  | 'renewalRequestedBy'
  | 'renewalRequestedByOwner'
  | 'renewalApprovedBy'
  | 'renewalApprovedByOwner'
  | 'renewalApprovedAt'
  | 'matchCount'
  | 'version';

/** An exception as the API shows it, its status true at the instant it is read. */
export type ExceptionView = Omit<ExceptionRecord, Internal> & {
  renewal: { expiresAt: Date; requestedBy: string | null; requestedByOwner: string | null } | null;
  matchCount: number;
  /** The first of `suspensionCauses` (null when none holds), as clients read it before several causes could hold. */
  suspensionCause: SuspensionCause | null;
};

export function toExceptionView(record: ExceptionRecord, now: Date): ExceptionView {
  const {
    requestedByName: _requestedByName,
    suspendedAt: _suspendedAt,
    renewalExpiresAt,
    renewalRequestedBy,
    renewalRequestedByOwner,
    renewalApprovedBy: _renewalApprovedBy,
    renewalApprovedByOwner: _renewalApprovedByOwner,
    renewalApprovedAt: _renewalApprovedAt,
    matchCount,
    version: _version,
    ...shown
  } = record;
  return {
    ...shown,
    status: effectiveStatus(record, now),
    renewal: renewalExpiresAt ? { expiresAt: renewalExpiresAt, requestedBy: renewalRequestedBy, requestedByOwner: renewalRequestedByOwner } : null,
    matchCount: Number(matchCount),
    suspensionCause: record.suspensionCauses[0] ?? null,
  };
}

/** The audit snapshot: the view without the bulky evidence and blocklist result (which the grant event carries once). */
export function auditSnapshot(record: ExceptionRecord, now: Date, withEvidence = false): Record<string, unknown> {
  // The stored status: the audit trail records what was written, not what it reads as later.
  const { evidence, blocklistResult, ...rest } = toExceptionView(record, now);
  return { ...rest, status: record.status, ...(withEvidence ? { evidence, blocklistResult } : {}) };
}
