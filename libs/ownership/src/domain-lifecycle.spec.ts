import { describe, expect, it } from 'vitest';
import { decide, type DomainState, type LifecyclePolicy } from './domain-lifecycle.js';

const HOUR = 3_600_000;
const policy: LifecyclePolicy = { recheckIntervalMs: 24 * HOUR, lapseFailures: 3, lapseGraceMs: 72 * HOUR, retryBaseMs: 60_000 };
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);

function state(overrides: Partial<DomainState> = {}): DomainState {
  return {
    status: 'pending',
    challengeExpiresAt: at(7 * 24),
    verifiedAt: null,
    retryCount: 0,
    consecutiveFailures: 0,
    firstFailureAt: null,
    overrideExpiresAt: null,
    nextCheckAt: null,
    ...overrides,
  };
}

describe('domain lifecycle', () => {
  it('verifies a pending domain on a match and schedules its re-check', () => {
    const { next, event } = decide(state(), 'match', at(1), policy);
    expect(event).toBe('verified');
    expect(next).toMatchObject({ status: 'verified', verifiedAt: at(1), nextCheckAt: at(25), retryCount: 0 });
  });

  it.each(['absent', 'mismatch', 'unreachable', 'disagreement'] as const)('keeps a pending domain pending on %s, backing off', (verdict) => {
    const first = decide(state(), verdict, t0, policy);
    expect(first.event).toBeNull();
    expect(first.next.status).toBe('pending');
    expect(first.next.nextCheckAt).toEqual(new Date(t0.getTime() + 60_000));
    const second = decide(first.next, verdict, t0, policy);
    expect(second.next.nextCheckAt).toEqual(new Date(t0.getTime() + 120_000));
  });

  it('never schedules a pending retry past the challenge expiry, and fails it there', () => {
    const late = decide(state({ retryCount: 30 }), 'unreachable', at(7 * 24 - 1), policy);
    expect(late.next.nextCheckAt).toEqual(at(7 * 24));
    const expired = decide(late.next, 'match', at(7 * 24), policy);
    expect(expired).toMatchObject({ event: 'failed', outcome: 'expired', next: { status: 'failed', nextCheckAt: null } });
  });

  it('lapses only after N failures spread over the grace period; DNS trouble counts nothing', () => {
    let current = state({ status: 'verified', verifiedAt: t0 });
    const events: (string | null)[] = [];
    for (const [hours, verdict] of [
      [24, 'absent'],
      [48, 'mismatch'],
      [60, 'unreachable'],
      [72, 'absent'],
    ] as const) {
      const step = decide(current, verdict, at(hours), policy);
      events.push(step.event);
      current = step.next;
    }
    // Three counted failures (24, 48, 72 h) but only 48 h since the first one.
    expect(current).toMatchObject({ status: 'verified', consecutiveFailures: 3, firstFailureAt: at(24) });
    const lapse = decide(current, 'absent', at(96), policy);
    expect(lapse).toMatchObject({ event: 'lapsed', next: { status: 'lapsed', consecutiveFailures: 4 } });
    // The first counted failure warns (`failing`); DNS trouble and the later failures say nothing until the lapse.
    expect(events).toEqual(['failing', null, null, null]);
  });

  it('resets the failure count on a match', () => {
    const failing = decide(state({ status: 'verified' }), 'absent', at(24), policy).next;
    const healed = decide(failing, 'match', at(48), policy).next;
    expect(healed).toMatchObject({ status: 'verified', consecutiveFailures: 0, firstFailureAt: null });
  });

  it('recovers a lapsed domain on a match, and keeps it lapsed otherwise', () => {
    const lapsed = state({ status: 'lapsed', consecutiveFailures: 4, firstFailureAt: at(0) });
    expect(decide(lapsed, 'absent', at(1), policy).next.status).toBe('lapsed');
    expect(decide(lapsed, 'match', at(1), policy)).toMatchObject({ event: 'recovered', next: { status: 'verified', consecutiveFailures: 0 } });
  });

  it('never undoes an active override, and counts again once it has expired', () => {
    const overridden = state({ status: 'verified', overrideExpiresAt: at(100) });
    for (const hours of [24, 48, 72, 96]) {
      expect(decide(overridden, 'absent', at(hours), policy).next.status).toBe('verified');
    }
    const after = decide(overridden, 'absent', at(101), policy);
    expect(after.next.consecutiveFailures).toBe(1);
  });

  it('leaves a failed domain alone', () => {
    expect(decide(state({ status: 'failed' }), 'match', at(1), policy)).toMatchObject({ event: null, next: { status: 'failed' } });
  });
});
