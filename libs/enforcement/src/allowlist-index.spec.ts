import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AllowlistIndex, type EntryState } from './allowlist-index.js';
import { inEffectAt, lastTransition, RENDERINGS, renderAll, type AllowlistEntry } from './render.js';
import { buildSnapshot, renderSnapshot } from './snapshot.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;
const signer = { sign: (body: Buffer) => body.subarray(0, 4) };

const ids = Array.from({ length: 40 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const entryArbitrary = (exceptionId: string) =>
  fc.record({
    exceptionId: fc.constant(exceptionId),
    organizationId: fc.constantFrom('org-a', 'org-b'),
    scope: fc.constantFrom('pair' as const, 'ip' as const, 'helo' as const),
    heloHostname: fc.constantFrom('a.example', 'b.example', 'exch01', 'mail.example.net', 'z'),
    addresses: fc.uniqueArray(fc.constantFrom('192.0.2.10/32', '192.0.2.0/24', '198.51.100.7/32', '2001:db8::/64', '2001:db8::1/128', '10.0.0.0/8'), {
      minLength: 1,
      maxLength: 3,
    }),
    startsAt: fc.integer({ min: -3, max: 3 }).map((h) => new Date(T0 + h * HOUR)),
    expiresAt: fc.integer({ min: 4, max: 9 }).map((h) => new Date(T0 + h * HOUR)),
  });

/** A step: some exceptions change state (enter, change, leave), or time moves on. */
const stepArbitrary = fc.oneof(
  fc.array(
    fc.constantFrom(...ids).chain((id) => fc.option(entryArbitrary(id), { nil: null }).map((entry): EntryState => ({ exceptionId: id, entry }))),
    { minLength: 1, maxLength: 6 },
  ),
  fc.integer({ min: -1, max: 4 }).map((hours) => hours),
);

describe('AllowlistIndex', () => {
  it('renders, after every change and every passing of time, the bytes a fresh full build renders', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 25 }), (steps) => {
        let now = new Date(T0);
        const truth = new Map<string, AllowlistEntry>();
        const index = new AllowlistIndex([], now);
        let version = 0n;
        for (const step of steps) {
          if (typeof step === 'number') {
            now = new Date(now.getTime() + step * HOUR + 1);
          } else {
            version += 1n;
            for (const { exceptionId, entry } of step) {
              if (entry) truth.set(exceptionId, entry);
              else truth.delete(exceptionId);
            }
            index.apply(step);
          }
          const changedAt = new Date(T0);
          const incremental = renderSnapshot(index, version, changedAt, now, undefined, signer, { json: true });
          const full = buildSnapshot([...truth.values()], version, changedAt, now, undefined, signer);
          if (incremental instanceof Promise || full instanceof Promise) throw new Error('small bodies are signed at once');
          // The reference renderer, written independently of the index.
          const transition = lastTransition([...truth.values()], now);
          const asOf = transition && transition > changedAt ? transition : changedAt;
          const reference = renderAll([...truth.values()].filter((entry) => inEffectAt(entry, now)), { version, asOf });
          for (const rendering of RENDERINGS) {
            const mine = incremental.renderings[rendering]!;
            expect(mine.body.toString()).toBe(reference[rendering]);
            expect(mine.body.equals(full.renderings[rendering].body)).toBe(true);
            expect(mine.gzip.equals(full.renderings[rendering].gzip)).toBe(true);
            expect(mine.etag).toBe(full.renderings[rendering].etag);
            expect(gunzipSync(mine.gzip).equals(mine.body)).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps blocks canonical across thousands of entries: incremental gzip equals a fresh build', () => {
    const many = Array.from({ length: 5000 }, (_, i): AllowlistEntry => ({
      exceptionId: `e-${String(i).padStart(6, '0')}`,
      organizationId: 'org',
      scope: i % 10 === 0 ? 'helo' : 'pair',
      heloHostname: `host-${i}.example`,
      addresses: [`10.${(i >> 8) & 255}.${i & 255}.0/24`],
      startsAt: new Date(T0 - HOUR),
      expiresAt: new Date(T0 + HOUR),
    }));
    const now = new Date(T0);
    const index = new AllowlistIndex(many.slice(0, 4000), now);
    renderSnapshot(index, 1n, now, now, undefined, signer, { json: true });
    const change = index.apply([
      ...many.slice(4000).map((entry) => ({ exceptionId: entry.exceptionId, entry })),
      ...many.slice(0, 1500).map((entry) => ({ exceptionId: entry.exceptionId, entry: null })),
    ]);
    expect(change.added).toHaveLength(1000);
    expect(change.removed).toHaveLength(1500);
    const incremental = renderSnapshot(index, 2n, now, now, undefined, signer, { json: true }) as Awaited<ReturnType<typeof renderSnapshot>>;
    const full = buildSnapshot(many.slice(1500), 2n, now, now, undefined, signer);
    for (const rendering of RENDERINGS) {
      expect(incremental.renderings[rendering]!.gzip.equals(full.renderings[rendering].gzip)).toBe(true);
      expect(gunzipSync(incremental.renderings[rendering]!.gzip).equals(full.renderings[rendering].body)).toBe(true);
    }
  });

  it('reports an entry whose fields changed as the old removed and the new added, and nothing for equal states', () => {
    const now = new Date(T0);
    const old: AllowlistEntry = { exceptionId: 'a', organizationId: 'o', scope: 'pair', heloHostname: 'x', addresses: ['192.0.2.1/32'], startsAt: now, expiresAt: new Date(T0 + HOUR) };
    const index = new AllowlistIndex([old], now);
    expect(index.apply([{ exceptionId: 'a', entry: { ...old } }])).toEqual({ added: [], removed: [] });
    const renewed = { ...old, expiresAt: new Date(T0 + 2 * HOUR) };
    expect(index.apply([{ exceptionId: 'a', entry: renewed }])).toEqual({ added: [renewed], removed: [old] });
    expect(index.apply([{ exceptionId: 'a', entry: null }, { exceptionId: 'a', entry: renewed }])).toEqual({ added: [], removed: [] });
  });
});
