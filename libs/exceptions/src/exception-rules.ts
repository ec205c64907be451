import type { ExceptionRulesConfig } from '@app/config';

export type ExceptionScope = 'pair' | 'ip' | 'helo';
export type ExceptionStatus = 'pending_approval' | 'active' | 'suspended' | 'revoked' | 'expired' | 'rejected';
/** Why a grant waits for a second person. */
/** `customer_request`: asked for by the customer itself (a customer key), which never grants on its own. */
export type ApprovalReason = 'override' | 'helo_scope' | 'spf_only' | 'wide_prefix' | 'long_duration' | 'blocklisted' | 'customer_request';
/** What keeps an exception suspended: its organization, a lapsed domain its proof rests on, a DNS blocklist listing. */
export type SuspensionCause = 'organization' | 'domain' | 'blocklist';

const DAY = 86_400_000;
/** Statuses an exception leaves on its own at `expiresAt`: pending, active or suspended ("running"). */
export const RUNNING_STATUSES: readonly ExceptionStatus[] = ['pending_approval', 'active', 'suspended'];
const RUNNING = RUNNING_STATUSES;

/**
 * The status as it is at `now`: an exception past its expiry reads `expired`
 * even before the worker has recorded the transition.
 */
export function effectiveStatus(record: { status: ExceptionStatus; expiresAt: Date }, now: Date): ExceptionStatus {
  return RUNNING.includes(record.status) && record.expiresAt <= now ? 'expired' : record.status;
}

export function prefixLength(cidr: string): { family: 'ipv4' | 'ipv6'; length: number } {
  const [network, length] = cidr.split('/') as [string, string];
  return { family: network.includes(':') ? 'ipv6' : 'ipv4', length: Number(length) };
}

/** The four-eyes rules (DESIGN.md, "Exceptions: rules"): what makes a grant need a second person. */
export function approvalReasons(
  grant: {
    scope: ExceptionScope;
    override: boolean;
    /** Some address the grant covers is proven by SPF alone (claimed, not shown to be owned). */
    spfOnly: boolean;
    /** Granted although the server is on a DNS blocklist (an admin's override of the listing). */
    blocklisted?: boolean;
    addresses: string[];
    durationMs: number;
  },
  rules: ExceptionRulesConfig,
): ApprovalReason[] {
  const reasons: ApprovalReason[] = [];
  if (grant.override) {
    reasons.push('override');
  }
  if (grant.scope === 'helo') {
    reasons.push('helo_scope');
  }
  // An override rests on its justification and a helo grant on the name, not on addresses.
  if (grant.spfOnly && !grant.override && grant.scope !== 'helo') {
    reasons.push('spf_only');
  }
  if (
    grant.scope !== 'helo' &&
    grant.addresses.some((cidr) => {
      const { family, length } = prefixLength(cidr);
      return length < (family === 'ipv4' ? rules.approvalPrefixV4 : rules.approvalPrefixV6);
    })
  ) {
    reasons.push('wide_prefix');
  }
  if (grant.durationMs > rules.approvalDays * DAY) {
    reasons.push('long_duration');
  }
  if (grant.blocklisted === true) {
    reasons.push('blocklisted');
  }
  return reasons;
}

/** Overrides (of proof or of a blocklist listing) and `helo` exceptions (spoofable from anywhere) take an admin to approve. */
export function needsAdminApproval(grant: { scope: ExceptionScope; override: boolean; approvalReasons?: readonly string[] }): boolean {
  return grant.override || grant.scope === 'helo' || (grant.approvalReasons ?? []).includes('blocklisted');
}

/** The window of a grant: starts now unless later, ends by default after `defaultDays`, never beyond `maxDays` from now. */
export function grantWindow(
  input: { startsAt?: Date; expiresAt?: Date },
  now: Date,
  rules: ExceptionRulesConfig,
): { startsAt: Date; expiresAt: Date } | { problem: string } {
  const startsAt = input.startsAt ?? now;
  const expiresAt = input.expiresAt ?? new Date(startsAt.getTime() + rules.defaultDays * DAY);
  const latest = now.getTime() + rules.maxDays * DAY;
  if (expiresAt <= now) {
    return { problem: 'expiresAt must be in the future' };
  }
  if (expiresAt <= startsAt) {
    return { problem: 'expiresAt must be after startsAt' };
  }
  if (expiresAt.getTime() > latest) {
    return { problem: `an exception may run at most ${rules.maxDays} days from now (EXCEPTION_MAX_DAYS)` };
  }
  return { startsAt, expiresAt };
}
