import type { Problem } from './problems.js';

/** What POST /v1/exceptions/preview answers: the API's own verdict on a grant not yet made. */
export interface GrantPreview {
  outcome: 'active' | 'pending_approval' | 'refused';
  problem: Problem | null;
  scope: 'pair' | 'ip' | 'helo';
  startsAt: string | null;
  expiresAt: string | null;
  approvalReasons: string[];
  adminApproval: boolean;
  justificationNeeded: boolean;
  missingProof: string[];
  blocklistListings: string | null;
  evidence: unknown;
}

/** The grant form as typed. */
export interface GrantDraft {
  mailServerId: string;
  scope: 'pair' | 'ip' | 'helo';
  reason: string;
  ticketRef: string;
  /** `YYYY-MM-DD` from the date field, or empty for the default. */
  expiresOn: string;
  justification: string;
}

/** The grant's body, as the API takes it: empty optional fields left out, the expiry at the end of the chosen day (UTC). */
export function grantBody(draft: GrantDraft): Record<string, string> {
  const body: Record<string, string> = { mailServerId: draft.mailServerId, scope: draft.scope, reason: draft.reason.trim() };
  if (draft.ticketRef.trim()) body.ticketRef = draft.ticketRef.trim();
  if (draft.expiresOn) body.expiresAt = new Date(`${draft.expiresOn}T23:59:59Z`).toISOString();
  if (draft.justification.trim()) body.justification = draft.justification.trim();
  return body;
}

/**
 * What the preview is asked: the grant's body less what cannot change its
 * answer (the reason and ticket, checked when the grant is sent), so that a
 * half-typed reason does not turn the preview into a validation error.
 */
export function previewBody(draft: GrantDraft): Record<string, string> {
  const { reason: _reason, ticketRef: _ticketRef, ...rest } = grantBody(draft);
  return rest;
}

/** The API's four-eyes reason codes in words for the rep on the phone (the code stays shown beside them). */
const REASONS: Record<string, string> = {
  override: 'granted without proof of ownership, on an admin\'s justification',
  helo_scope: 'a helo exception lets this name pass from any address',
  spf_only: 'addresses proven by SPF alone (the customer\'s own claim)',
  wide_prefix: 'a prefix wider than the limit for approval-free grants',
  long_duration: 'a window longer than the limit for approval-free grants',
  blocklisted: 'the server is on a DNS blocklist',
  customer_request: 'asked for by the customer: a CSR decides',
};

export function describeReason(code: string): string {
  const words = REASONS[code];
  return words === undefined ? code : `${words} (${code})`;
}

/** The preview's verdict in one sentence. */
export function verdictOf(preview: GrantPreview): string {
  if (preview.outcome === 'refused') {
    return `The API would refuse this grant: ${preview.problem?.detail ?? preview.problem?.title ?? 'no reason given'}`;
  }
  if (preview.outcome === 'active') {
    return 'It would be active at once: nothing here calls for a second person.';
  }
  return `It would wait for ${preview.adminApproval ? 'an admin' : 'a second person'} to approve it, because:`;
}
