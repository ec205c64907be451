import { effectiveStatus, type ExceptionScope, type ExceptionStatus } from './exception-rules.js';
import type { ExceptionRecord } from './exceptions.repository.js';

/** An exception as the API shows it, its status true at the instant it is read. */
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
  approvedBy: string | null;
  approvedAt: Date | null;
  rejectedBy: string | null;
  rejectedAt: Date | null;
  rejectionReason: string | null;
  revokedBy: string | null;
  revokedAt: Date | null;
  revokeReason: string | null;
  suspensionCause: string | null;
  renewal: { expiresAt: Date; requestedBy: string | null } | null;
  lastMatchedAt: Date | null;
  matchCount: number;
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
    approvedBy: record.approvedBy,
    approvedAt: record.approvedAt,
    rejectedBy: record.rejectedBy,
    rejectedAt: record.rejectedAt,
    rejectionReason: record.rejectionReason,
    revokedBy: record.revokedBy,
    revokedAt: record.revokedAt,
    revokeReason: record.revokeReason,
    suspensionCause: record.suspensionCause,
    renewal: record.renewalExpiresAt ? { expiresAt: record.renewalExpiresAt, requestedBy: record.renewalRequestedBy } : null,
    lastMatchedAt: record.lastMatchedAt,
    matchCount: Number(record.matchCount),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The audit snapshot: the view without the bulky evidence (which the grant event carries once). */
export function auditSnapshot(record: ExceptionRecord, now: Date, withEvidence = false): Record<string, unknown> {
  // The stored status: the audit trail records what was written, not what it reads as later.
  const { evidence, ...rest } = toExceptionView(record, now);
  return { ...rest, status: record.status, ...(withEvidence ? { evidence } : {}) };
}
