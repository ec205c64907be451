import { effectiveStatus, type ExceptionScope, type ExceptionStatus, type SuspensionCause } from './exception-rules.js';
import type { ExceptionRecord } from './exceptions.repository.js';

/**
 * An exception as the API shows it, its status true at the instant it is
 * read. Written out field by field, so that a column added to the table
 * reaches clients only when it is added here on purpose.
 */
export interface ExceptionView {
  id: string;
  organizationId: string;
  mailServerId: string;
  scope: ExceptionScope;
  status: ExceptionStatus;
  reason: string;
  ticketRef: string | null;
  startsAt: Date;
  expiresAt: Date;
  heloHostname: string;
  addresses: string[];
  override: boolean;
  justification: string | null;
  approvalReasons: string[];
  evidence: unknown;
  requestedBy: string;
  requestedByOwner: string;
  approvedBy: string | null;
  approvedByOwner: string | null;
  approvedAt: Date | null;
  /** The approver's reason, when one was given. */
  approvalNote: string | null;
  rejectedBy: string | null;
  rejectedByOwner: string | null;
  rejectedAt: Date | null;
  rejectionReason: string | null;
  revokedBy: string | null;
  revokedAt: Date | null;
  revokeReason: string | null;
  /** The first of `suspensionCauses` (null when none holds), as clients read it before several causes could hold. */
  suspensionCause: SuspensionCause | null;
  suspensionCauses: SuspensionCause[];
  blocklistCheckedAt: Date | null;
  blocklistResult: unknown;
  blocklistAccepted: unknown;
  /** A renewal waiting for a second person's approval. */
  renewal: { expiresAt: Date; requestedBy: string | null; requestedByOwner: string | null; approvalReasons: string[] } | null;
  lastMatchedAt: Date | null;
  matchCount: number;
  /** When the worker (or a recheck) last looked the HELO name up. */
  heloCheckedAt: Date | null;
  /** Since when the HELO name passes Postfix's checks by itself (null until then), and what was seen. */
  noLongerNeededSince: Date | null;
  noLongerNeededEvidence: unknown;
  /** A person chose to let it run until its expiry although it is no longer needed. */
  keptUntilExpiry: { reason: string; by: string | null; byOwner: string | null; at: Date } | null;
  createdAt: Date;
  updatedAt: Date;
}

export function toExceptionView(record: ExceptionRecord, now: Date): ExceptionView {
  return {
    id: record.id,
    organizationId: record.organizationId,
    mailServerId: record.mailServerId,
    scope: record.scope,
    status: effectiveStatus(record, now),
    reason: record.reason,
    ticketRef: record.ticketRef,
    startsAt: record.startsAt,
    expiresAt: record.expiresAt,
    heloHostname: record.heloHostname,
    addresses: record.addresses,
    override: record.override,
    justification: record.justification,
    approvalReasons: record.approvalReasons,
    evidence: record.evidence,
    requestedBy: record.requestedBy,
    requestedByOwner: record.requestedByOwner,
    approvedBy: record.approvedBy,
    approvedByOwner: record.approvedByOwner,
    approvedAt: record.approvedAt,
    approvalNote: record.approvalNote,
    rejectedBy: record.rejectedBy,
    rejectedByOwner: record.rejectedByOwner,
    rejectedAt: record.rejectedAt,
    rejectionReason: record.rejectionReason,
    revokedBy: record.revokedBy,
    revokedAt: record.revokedAt,
    revokeReason: record.revokeReason,
    suspensionCause: record.suspensionCauses[0] ?? null,
    suspensionCauses: record.suspensionCauses,
    blocklistCheckedAt: record.blocklistCheckedAt,
    blocklistResult: record.blocklistResult,
    blocklistAccepted: record.blocklistAccepted,
    renewal: record.renewalExpiresAt
      ? {
          expiresAt: record.renewalExpiresAt,
          requestedBy: record.renewalRequestedBy,
          requestedByOwner: record.renewalRequestedByOwner,
          approvalReasons: record.renewalApprovalReasons,
        }
      : null,
    lastMatchedAt: record.lastMatchedAt,
    matchCount: Number(record.matchCount),
    heloCheckedAt: record.heloCheckedAt,
    noLongerNeededSince: record.noLongerNeededSince,
    noLongerNeededEvidence: record.noLongerNeededEvidence ?? null,
    keptUntilExpiry:
      record.keptAt !== null && record.keptReason !== null
        ? { reason: record.keptReason, by: record.keptBy, byOwner: record.keptByOwner, at: record.keptAt }
        : null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The audit snapshot: the view without the bulky evidence and blocklist result (which the grant event carries once). */
export function auditSnapshot(record: ExceptionRecord, now: Date, withEvidence = false): Record<string, unknown> {
  // The stored status: the audit trail records what was written, not what it reads as later.
  const { evidence, blocklistResult, ...rest } = toExceptionView(record, now);
  return { ...rest, status: record.status, ...(withEvidence ? { evidence, blocklistResult } : {}) };
}
