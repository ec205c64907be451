import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowlistHistory, SNAPSHOT_SETTLE_MS, type AllowlistAt } from '@app/enforcement';
import { startIsolatedTestApp, type TestApp } from './support/test-app.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** What an exception's audit events record, in the order the service moves it. */
const ACTIONS = {
  requested: 'pending_approval',
  granted: 'active',
  approved: 'active',
  rejected: 'rejected',
  renewed: 'active',
  suspended: 'suspended',
  reactivated: 'active',
  revoked: 'revoked',
  expired: 'expired',
} as const;
type Action = keyof typeof ACTIONS;

interface Step {
  exception: number;
  action: Action;
  /** Time since the previous event; negative: recorded after an event dated later (a longer transaction). */
  gapMs: number;
  /** The exception's window relative to the event: some end before later instants asked about. */
  startsInMs: number;
  lastsMs: number;
  scope: 'pair' | 'ip' | 'helo';
}

const step = fc.record({
  exception: fc.nat({ max: 5 }),
  action: fc.constantFrom(...(Object.keys(ACTIONS) as Action[])),
  gapMs: fc.oneof(fc.integer({ min: 0, max: 30 * MINUTE }), fc.integer({ min: -2 * MINUTE, max: 0 }), fc.constant(0)),
  startsInMs: fc.integer({ min: -MINUTE, max: 10 * MINUTE }),
  lastsMs: fc.integer({ min: 1, max: 3 * 60 * MINUTE }),
  scope: fc.constantFrom('pair' as const, 'ip' as const, 'helo' as const),
});

const comparable = (at: AllowlistAt) => ({ head: at.head, candidates: at.candidates });

describe('allowlist history (?asOf): snapshots plus the events after them answer exactly what replaying the whole trail answers', () => {
  let t: TestApp;
  let history: AllowlistHistory;
  /** Each run's history lies after the previous one's, as time does: snapshots are never taken of a past that still changes. */
  let base = Date.parse('2031-01-01T00:00:00.000Z');

  beforeAll(async () => {
    t = await startIsolatedTestApp();
    history = t.app.get(AllowlistHistory);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function record(steps: Step[]): Promise<{ times: number[]; end: number }> {
    const organizationId = randomUUID();
    const ids = Array.from({ length: 6 }, () => randomUUID());
    let at = base;
    const times: number[] = [];
    for (const [i, s] of steps.entries()) {
      at = Math.max(base, at + s.gapMs);
      times.push(at);
      const startsAt = new Date(at + s.startsInMs);
      const after = {
        id: ids[s.exception],
        organizationId,
        scope: s.scope,
        status: ACTIONS[s.action],
        heloHostname: `mx${s.exception}.history.example`,
        addresses: s.scope === 'helo' ? [] : [`198.51.100.${s.exception + 1}/32`, `2001:db8:${i}::/64`],
        startsAt: startsAt.toISOString(),
        expiresAt: new Date(startsAt.getTime() + s.lastsMs).toISOString(),
      };
      await t.prisma.$executeRaw`
        INSERT INTO audit_events (id, occurred_at, actor_name, actor_role, action, entity_type, entity_id, organization_id, before, after)
        VALUES (${randomUUID()}::uuid, ${new Date(at)}, 'system:history-test', 'system', ${`exception.${s.action}`}, 'exception',
                ${ids[s.exception]}::uuid, ${organizationId}::uuid, NULL, ${JSON.stringify(after)}::jsonb)`;
      if (i % 3 === 0) {
        // Other kinds of events between them are not the allowlist's business.
        await t.prisma.$executeRaw`
          INSERT INTO audit_events (id, occurred_at, actor_name, actor_role, action, entity_type, entity_id, organization_id, before, after)
          VALUES (${randomUUID()}::uuid, ${new Date(at)}, 'system:history-test', 'system', 'organization.updated', 'organization',
                  ${organizationId}::uuid, ${organizationId}::uuid, NULL, ${JSON.stringify({ id: organizationId, status: 'active' })}::jsonb)`;
      }
    }
    const end = Math.max(at, ...times);
    return { times, end };
  }

  it('on random histories of grants, approvals, rejections, renewals, suspensions, revocations and expiries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 30 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: -0.05, max: 1.05, noNaN: true }), { minLength: 1, maxLength: 6 }),
        async (steps, cutFractions, askFractions) => {
          const { times, end } = await record(steps);
          const span = end - base + MINUTE;
          const instant = (fraction: number) => new Date(Math.round(base + fraction * span));
          // Snapshots in any order, some exactly at an event's time (an event at the cut belongs to the snapshot).
          const cuts = [...cutFractions.map(instant), new Date(times[Math.floor(times.length / 2)]!)];
          for (const cut of cuts) {
            await history.snapshot(cut);
          }
          const asked = [...askFractions.map(instant), ...cuts, ...times.map((time) => new Date(time)), ...times.map((time) => new Date(time - 1))];
          for (const when of asked) {
            const fromSnapshot = await history.at(when);
            expect(comparable(fromSnapshot), when.toISOString()).toEqual(comparable(await history.replayAt(when)));
            if (cuts.some((cut) => cut <= when)) {
              expect(fromSnapshot.cost.snapshotCutAt).not.toBeNull();
            }
          }
          base = end + DAY;
        },
      ),
      { numRuns: 25 },
    );
  });

  it('an event recorded later but dated before the cut decides, whichever side of the cut the earlier-recorded one is dated', async () => {
    const organizationId = randomUUID();
    const at = (ms: number) => new Date(base + ms);
    const cut = at(15_000);
    const state = (id: string, status: string) => ({
      id,
      organizationId,
      scope: 'ip',
      status,
      heloHostname: 'mx.inverted.example',
      addresses: ['192.0.2.88/32'],
      startsAt: at(-DAY).toISOString(),
      expiresAt: at(DAY).toISOString(),
    });
    const insert = (id: string, occurred: Date, status: string) => t.prisma.$executeRaw`
      INSERT INTO audit_events (id, occurred_at, actor_name, actor_role, action, entity_type, entity_id, organization_id, before, after)
      VALUES (${randomUUID()}::uuid, ${occurred}, 'system:history-test', 'system', 'exception.changed', 'exception',
              ${id}::uuid, ${organizationId}::uuid, NULL, ${JSON.stringify(state(id, status))}::jsonb)`;
    // Off the list at the cut (not in the snapshot), back on in an event recorded earlier but dated after the cut.
    const stayedOff = randomUUID();
    await insert(stayedOff, at(30_000), 'active');
    await insert(stayedOff, at(0), 'revoked');
    // On the list at the cut (in the snapshot), off in an event recorded earlier but dated after the cut.
    const stayedOn = randomUUID();
    await insert(stayedOn, at(30_000), 'revoked');
    await insert(stayedOn, at(0), 'active');
    await history.snapshot(cut);
    const fromSnapshot = await history.at(at(60_000));
    expect(fromSnapshot.cost.snapshotCutAt).toEqual(cut);
    const replayed = await history.replayAt(at(60_000));
    expect(comparable(fromSnapshot)).toEqual(comparable(replayed));
    const ids = fromSnapshot.candidates.map((entry) => entry.exceptionId);
    expect(ids).toContain(stayedOn);
    expect(ids).not.toContain(stayedOff);
    base += 2 * DAY;
  });

  it('the worker records a snapshot only of a past no transaction can still add to, at its interval, when exceptions moved', async () => {
    const now = new Date(base + DAY);
    const organizationId = randomUUID();
    const exceptionId = randomUUID();
    const after = {
      id: exceptionId,
      organizationId,
      scope: 'ip',
      status: 'active',
      heloHostname: 'mx.settle.example',
      addresses: ['192.0.2.77/32'],
      startsAt: new Date(now.getTime() - DAY).toISOString(),
      expiresAt: new Date(now.getTime() + DAY).toISOString(),
    };
    // One change well in the past, one a moment ago (its transaction might still be open elsewhere).
    for (const occurred of [now.getTime() - 2 * SNAPSHOT_SETTLE_MS, now.getTime() - MINUTE]) {
      await t.prisma.$executeRaw`
        INSERT INTO audit_events (id, occurred_at, actor_name, actor_role, action, entity_type, entity_id, organization_id, before, after)
        VALUES (${randomUUID()}::uuid, ${new Date(occurred)}, 'system:history-test', 'system', 'exception.granted', 'exception',
                ${exceptionId}::uuid, ${organizationId}::uuid, NULL, ${JSON.stringify(after)}::jsonb)`;
    }
    const recorded = await history.snapshotIfDue(now, 60 * MINUTE);
    expect(recorded?.cutAt).toEqual(new Date(now.getTime() - SNAPSHOT_SETTLE_MS));
    const row = await t.prisma.allowlistStateSnapshot.findUniqueOrThrow({ where: { cutAt: recorded!.cutAt } });
    expect(row.entryCount).toBe(recorded!.entries);
    expect(JSON.stringify(row.entries)).toContain(exceptionId);
    // Within the interval: nothing new.
    expect(await history.snapshotIfDue(new Date(now.getTime() + 30 * MINUTE), 60 * MINUTE)).toBeNull();
    // Past the interval, with the recent event now settled: the next one.
    const later = new Date(now.getTime() + 61 * MINUTE);
    expect((await history.snapshotIfDue(later, 60 * MINUTE))?.cutAt).toEqual(new Date(later.getTime() - SNAPSHOT_SETTLE_MS));
    // Past the interval again, but no exception moved since: nothing to record.
    expect(await history.snapshotIfDue(new Date(later.getTime() + 61 * MINUTE), 60 * MINUTE)).toBeNull();
    // The services' role may add snapshots, never change them.
    await expect(t.prisma.$executeRaw`UPDATE allowlist_state_snapshots SET entry_count = 0`).rejects.toThrow();
    await expect(t.prisma.$executeRaw`DELETE FROM allowlist_state_snapshots`).rejects.toThrow();
    base = later.getTime() + 3 * DAY;
  });
});
