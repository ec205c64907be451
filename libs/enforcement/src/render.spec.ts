import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inEffectAt, RENDERINGS, renderAll, type AllowlistEntry } from './render.js';
import { buildSnapshot } from './snapshot.js';

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');

const at = (iso: string) => new Date(iso);
const entries: AllowlistEntry[] = [
  {
    exceptionId: '00000000-0000-4000-8000-000000000003',
    organizationId: '10000000-0000-4000-8000-000000000001',
    scope: 'pair',
    heloHostname: 'exch01.corp.local',
    addresses: ['2001:db8:1::/64', '192.0.2.10/32'],
    startsAt: at('2026-11-01T00:00:00Z'),
    expiresAt: at('2027-01-30T00:00:00Z'),
  },
  {
    exceptionId: '00000000-0000-4000-8000-000000000001',
    organizationId: '10000000-0000-4000-8000-000000000002',
    scope: 'ip',
    heloHostname: 'mail.example.net',
    addresses: ['192.0.2.9/32', '198.51.100.0/24', '192.0.2.10/32'],
    startsAt: at('2026-11-01T00:00:00Z'),
    expiresAt: at('2027-02-01T00:00:00Z'),
  },
  {
    exceptionId: '00000000-0000-4000-8000-000000000002',
    organizationId: '10000000-0000-4000-8000-000000000002',
    scope: 'helo',
    heloHostname: 'exch_02',
    addresses: ['203.0.113.5/32'],
    startsAt: at('2026-11-01T00:00:00Z'),
    expiresAt: at('2027-03-01T00:00:00Z'),
  },
];
const context = { version: 42n, asOf: at('2026-11-28T10:15:00.250Z') };

describe('renderings', () => {
  it.each(RENDERINGS)('%s is byte-exact (golden file)', (rendering) => {
    const extension = rendering === 'json' ? 'json' : 'txt';
    expect(renderAll(entries, context)[rendering]).toBe(golden(`${rendering}.${extension}`));
  });

  it('gives equal bytes for equal lists, whatever order the entries come in', () => {
    expect(renderAll([...entries].reverse(), context)).toEqual(renderAll(entries, context));
  });

  it('is never empty: an empty list still has its header', () => {
    for (const body of Object.values(renderAll([], context))) {
      expect(body.length).toBeGreaterThan(0);
    }
    expect(renderAll([], context)['postfix-cidr']).toMatch(/^# HeloPass allowlist postfix-cidr: version 42, as of 2026-11-28T10:15:00.250Z, 0 entries\n/);
  });
});

describe('snapshot', () => {
  const sign = () => Buffer.alloc(64);
  const now = at('2026-11-28T10:15:00.250Z');

  it('Last-Modified grows by at least a second with every change of a body, even within one second', () => {
    const first = buildSnapshot(entries, 1n, at('2026-11-28T10:15:00.100Z'), now, undefined, sign);
    const second = buildSnapshot(entries.slice(1), 2n, at('2026-11-28T10:15:00.200Z'), now, first, sign);
    const third = buildSnapshot(entries.slice(2), 3n, at('2026-11-28T10:15:00.300Z'), now, second, sign);
    const cidr = [first, second, third].map((snapshot) => snapshot.renderings['postfix-cidr'].lastModified.getTime());
    expect(cidr[1]! - cidr[0]!).toBeGreaterThanOrEqual(1000);
    expect(cidr[2]! - cidr[1]!).toBeGreaterThanOrEqual(1000);
    expect(first.renderings['postfix-cidr'].lastModifiedHttp).toBe(new Date(cidr[0]!).toUTCString());
  });

  it('keeps validators when a body is unchanged, and drops expired entries at their exact instant', () => {
    const first = buildSnapshot(entries, 7n, at('2026-11-28T10:00:00Z'), now, undefined, sign);
    const again = buildSnapshot(entries, 7n, at('2026-11-28T10:00:00Z'), at('2026-11-28T11:00:00Z'), first, sign);
    expect(again.renderings['rspamd-ip'].etag).toBe(first.renderings['rspamd-ip'].etag);
    expect(again.renderings['rspamd-ip'].lastModified).toEqual(first.renderings['rspamd-ip'].lastModified);

    const expiry = entries[0]!.expiresAt;
    const before = buildSnapshot(entries, 7n, at('2026-11-28T10:00:00Z'), new Date(expiry.getTime() - 1), first, sign);
    const after = buildSnapshot(entries, 7n, at('2026-11-28T10:00:00Z'), expiry, before, sign);
    expect(before.entries.map((entry) => entry.exceptionId)).toContain(entries[0]!.exceptionId);
    expect(after.entries.map((entry) => entry.exceptionId)).not.toContain(entries[0]!.exceptionId);
    expect(after.asOf).toEqual(expiry);
    expect(after.nextTransition).toEqual(entries[1]!.expiresAt);
    expect(after.renderings['postfix-cidr'].body.toString()).not.toContain('2001:db8:1::/64');
  });

  it('takes an entry in at the exact instant it starts and out at the exact instant it expires (inEffectAt, the one rule)', () => {
    const later: AllowlistEntry = {
      ...entries[0]!,
      exceptionId: '00000000-0000-4000-8000-000000000009',
      addresses: ['192.0.2.99/32'],
      startsAt: at('2026-12-01T00:00:00Z'),
      expiresAt: at('2026-12-02T00:00:00Z'),
    };
    const { startsAt, expiresAt } = later;
    const just = (instant: Date, ms: number) => new Date(instant.getTime() + ms);
    expect([just(startsAt, -1), startsAt, just(expiresAt, -1), expiresAt].map((instant) => inEffectAt(later, instant))).toEqual([false, true, true, false]);

    const listed = (instant: Date) => buildSnapshot([...entries, later], 7n, at('2026-11-28T10:00:00Z'), instant, undefined, sign).entries.map((entry) => entry.exceptionId);
    expect(listed(just(startsAt, -1))).not.toContain(later.exceptionId);
    expect(listed(startsAt)).toContain(later.exceptionId);
    expect(listed(just(expiresAt, -1))).toContain(later.exceptionId);
    expect(listed(expiresAt)).not.toContain(later.exceptionId);
    // Before it starts, its start is the next change the list makes by itself.
    expect(buildSnapshot([...entries, later], 7n, at('2026-11-28T10:00:00Z'), now, undefined, sign).nextTransition).toEqual(startsAt);
  });

  it('pre-compresses and signs each body once', () => {
    let signed = 0;
    const snapshot = buildSnapshot(entries, 1n, now, now, undefined, () => {
      signed += 1;
      return Buffer.alloc(64, 1);
    });
    expect(signed).toBe(RENDERINGS.length);
    expect(snapshot.renderings.json.gzip.length).toBeGreaterThan(0);
    expect(snapshot.renderings.json.etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
  });
});
