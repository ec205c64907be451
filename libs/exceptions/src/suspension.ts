import type { SuspensionCause } from './exception-rules.js';
import type { ExceptionChanges, ExceptionRecord } from './exceptions.repository.js';

/** A change of an exception's suspension, with the audit action that records it. */
export interface SuspensionChange {
  readonly action: 'exception.suspended' | 'exception.restored' | 'exception.suspension_cause_lifted';
  readonly changes: ExceptionChanges;
}

type Suspendable = Pick<ExceptionRecord, 'status' | 'suspensionCauses'>;

/**
 * Suspends a running exception for `cause`: an active one leaves the
 * allowlist; a suspended one gains one more cause, so that lifting another
 * cause later does not restore it. Null when the cause already holds or the
 * exception is not active or suspended (a pending one is checked when it is
 * approved).
 */
export function suspendFor(record: Suspendable, cause: SuspensionCause, now: Date): SuspensionChange | null {
  if ((record.status !== 'active' && record.status !== 'suspended') || record.suspensionCauses.includes(cause)) {
    return null;
  }
  const suspensionCauses = [...record.suspensionCauses, cause];
  return {
    action: 'exception.suspended',
    changes: record.status === 'active' ? { status: 'suspended', suspensionCauses, suspendedAt: now } : { suspensionCauses },
  };
}

/**
 * Lifts `cause` from a suspended exception: restored when no other cause
 * holds (an organization's reactivation does not undo a blocklist listing,
 * nor a delisting an organization's suspension). Null when `cause` does not hold.
 */
export function liftFor(record: Suspendable, cause: SuspensionCause): SuspensionChange | null {
  if (record.status !== 'suspended' || !record.suspensionCauses.includes(cause)) {
    return null;
  }
  const suspensionCauses = record.suspensionCauses.filter((held) => held !== cause);
  if (suspensionCauses.length === 0) {
    return { action: 'exception.restored', changes: { status: 'active', suspensionCauses, suspendedAt: null } };
  }
  return { action: 'exception.suspension_cause_lifted', changes: { suspensionCauses } };
}
