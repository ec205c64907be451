import type { ChallengeVerdict } from './challenge.js';

export type DomainStatus = 'pending' | 'verified' | 'lapsed' | 'failed';

/** What the lifecycle rules read and write of a domain. */
export interface DomainState {
  status: DomainStatus;
  challengeExpiresAt: Date;
  verifiedAt: Date | null;
  retryCount: number;
  consecutiveFailures: number;
  firstFailureAt: Date | null;
  overrideExpiresAt: Date | null;
  nextCheckAt: Date | null;
}

export interface LifecyclePolicy {
  recheckIntervalMs: number;
  lapseFailures: number;
  lapseGraceMs: number;
  retryBaseMs: number;
}

/**
 * A change worth an audit event of its own: a status change, or `failing`,
 * the first re-check of a verified domain that found the record missing or
 * wrong (the customer's warning, well before the lapse).
 */
export type DomainEvent = 'verified' | 'failing' | 'lapsed' | 'recovered' | 'failed';

export interface Transition {
  next: DomainState;
  event: DomainEvent | null;
  /** `verified`, `mismatch`, …, or `expired` when the challenge ran out. */
  outcome: ChallengeVerdict | 'expired';
}

const MAX_RETRY_DELAY_MS = 6 * 3_600_000;

export function overrideActive(state: Pick<DomainState, 'overrideExpiresAt'>, now: Date): boolean {
  return state.overrideExpiresAt !== null && state.overrideExpiresAt > now;
}

/** The challenge can no longer make a pending domain verified. */
export function challengeExpired(state: Pick<DomainState, 'status' | 'challengeExpiresAt'>, now: Date): boolean {
  return state.status === 'pending' && now >= state.challengeExpiresAt;
}

function retryAt(state: DomainState, now: Date, policy: LifecyclePolicy, attempt: number): Date {
  const delay = Math.min(policy.retryBaseMs * 2 ** Math.min(attempt, 20), MAX_RETRY_DELAY_MS);
  const at = new Date(now.getTime() + delay);
  // A pending domain is looked at once more when its challenge runs out, to mark it failed.
  return state.status === 'pending' && at > state.challengeExpiresAt ? state.challengeExpiresAt : at;
}

/**
 * What one look at the challenge record does to a domain (DESIGN.md,
 * "Ownership, proven through DNS TXT"):
 * - pending: a match verifies it; anything else keeps it pending and looks
 *   again with backoff, until the challenge expires (then it has failed);
 * - verified: a match resets the failure count; a record found missing or
 *   wrong counts a failure (the first is the `failing` event), and after `lapseFailures` of them spread over at
 *   least `lapseGraceMs` the domain lapses; DNS trouble counts nothing;
 *   an active admin override is never undone by a re-check;
 * - lapsed: a match restores it; otherwise it stays lapsed;
 * - failed: stays failed until a new challenge is issued.
 */
export function decide(
  state: DomainState,
  verdict: ChallengeVerdict | 'expired',
  now: Date,
  policy: LifecyclePolicy,
): Transition {
  const recheckAt = new Date(now.getTime() + policy.recheckIntervalMs);
  const base = { ...state };

  if (verdict === 'expired' || challengeExpired(state, now)) {
    return { next: { ...base, status: 'failed', nextCheckAt: null }, event: 'failed', outcome: 'expired' };
  }

  switch (state.status) {
    case 'pending': {
      if (verdict === 'match') {
        return {
          next: { ...base, status: 'verified', verifiedAt: now, retryCount: 0, consecutiveFailures: 0, firstFailureAt: null, nextCheckAt: recheckAt },
          event: 'verified',
          outcome: verdict,
        };
      }
      return {
        next: { ...base, retryCount: state.retryCount + 1, nextCheckAt: retryAt(state, now, policy, state.retryCount) },
        event: null,
        outcome: verdict,
      };
    }
    case 'verified': {
      if (verdict === 'match') {
        return {
          next: { ...base, retryCount: 0, consecutiveFailures: 0, firstFailureAt: null, nextCheckAt: recheckAt },
          event: null,
          outcome: verdict,
        };
      }
      if (verdict === 'unreachable' || verdict === 'disagreement') {
        return {
          next: { ...base, retryCount: state.retryCount + 1, nextCheckAt: retryAt(state, now, policy, state.retryCount) },
          event: null,
          outcome: verdict,
        };
      }
      if (overrideActive(state, now)) {
        // Findings are recorded, but an admin's override stands until it expires.
        return { next: { ...base, nextCheckAt: recheckAt }, event: null, outcome: verdict };
      }
      const failures = state.consecutiveFailures + 1;
      const firstFailureAt = state.firstFailureAt ?? now;
      const lapses =
        failures >= policy.lapseFailures && now.getTime() - firstFailureAt.getTime() >= policy.lapseGraceMs;
      // Look again within the grace period, so a lapse is not decided later than it must be.
      const spacing = Math.min(policy.recheckIntervalMs, Math.max(policy.lapseGraceMs / policy.lapseFailures, 60_000));
      return {
        next: {
          ...base,
          status: lapses ? 'lapsed' : 'verified',
          retryCount: 0,
          consecutiveFailures: failures,
          firstFailureAt,
          nextCheckAt: new Date(now.getTime() + (lapses ? policy.recheckIntervalMs : spacing)),
        },
        event: lapses ? 'lapsed' : failures === 1 ? 'failing' : null,
        outcome: verdict,
      };
    }
    case 'lapsed': {
      if (verdict === 'match') {
        return {
          next: { ...base, status: 'verified', verifiedAt: now, retryCount: 0, consecutiveFailures: 0, firstFailureAt: null, nextCheckAt: recheckAt },
          event: 'recovered',
          outcome: verdict,
        };
      }
      return { next: { ...base, nextCheckAt: recheckAt }, event: null, outcome: verdict };
    }
    case 'failed':
      return { next: { ...base, nextCheckAt: null }, event: null, outcome: verdict };
  }
}
