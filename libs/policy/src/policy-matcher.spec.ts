import { describe, expect, it } from 'vitest';
import type { AllowlistEntry } from '@app/enforcement';
import { PolicyMatcher } from './policy-matcher.js';

const NOW = Date.parse('2026-12-08T12:00:00.000Z');
let sequence = 0;

function entry(fields: Partial<AllowlistEntry> & Pick<AllowlistEntry, 'scope'>): AllowlistEntry {
  sequence++;
  return {
    exceptionId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    organizationId: 'org',
    heloHostname: 'exch01.corp.example',
    addresses: ['192.0.2.10/32'],
    startsAt: new Date(NOW - 3_600_000),
    expiresAt: new Date(NOW + 3_600_000),
    ...fields,
  };
}

function matcherWith(...entries: AllowlistEntry[]): PolicyMatcher {
  const matcher = new PolicyMatcher();
  matcher.onFull(entries, 1n);
  return matcher;
}

const ok = (matcher: PolicyMatcher, helo: string, address: string, at = NOW) => matcher.match(helo, address, at).length > 0;

describe('PolicyMatcher scopes', () => {
  it('pair: only the granted name from a granted address (IPv4)', () => {
    const matcher = matcherWith(entry({ scope: 'pair', addresses: ['192.0.2.10/32', '198.51.100.0/24'] }));
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.10')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '198.51.100.77')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.11')).toBe(false);
    expect(ok(matcher, 'other.corp.example', '192.0.2.10')).toBe(false);
    expect(ok(matcher, '', '192.0.2.10')).toBe(false);
  });

  it('pair over IPv6, with a prefix', () => {
    const matcher = matcherWith(entry({ scope: 'pair', addresses: ['2001:db8:1::/48', '2001:db8:ff::25/128'] }));
    expect(ok(matcher, 'exch01.corp.example', '2001:db8:1:abcd::1')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '2001:DB8:FF:0::25')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '2001:db8:2::1')).toBe(false);
    expect(ok(matcher, 'exch01.corp.example', '2001:db8:ff::26')).toBe(false);
    expect(ok(matcher, 'other.example', '2001:db8:1::1')).toBe(false);
  });

  it('ip: any name from the address, none from elsewhere', () => {
    const matcher = matcherWith(entry({ scope: 'ip', addresses: ['203.0.113.0/28', '2001:db8::/32'] }));
    expect(ok(matcher, 'anything.example', '203.0.113.15')).toBe(true);
    expect(ok(matcher, '', '203.0.113.1')).toBe(true);
    expect(ok(matcher, 'x', '203.0.113.16')).toBe(false);
    expect(ok(matcher, 'x', '2001:db8:dead::beef')).toBe(true);
    expect(ok(matcher, 'x', '2001:db9::1')).toBe(false);
  });

  it('helo: the name from any address, IPv4 or IPv6', () => {
    const matcher = matcherWith(entry({ scope: 'helo', heloHostname: 'legacy-mx', addresses: [] }));
    expect(ok(matcher, 'legacy-mx', '192.0.2.200')).toBe(true);
    expect(ok(matcher, 'legacy-mx', '2001:db8::9')).toBe(true);
    expect(ok(matcher, 'legacy-mx', 'unknown')).toBe(true);
    expect(ok(matcher, 'legacy-mx.example', '192.0.2.200')).toBe(false);
  });

  it('compares HELO names without case and without one trailing dot', () => {
    const matcher = matcherWith(entry({ scope: 'pair' }), entry({ scope: 'helo', heloHostname: 'legacy-mx', addresses: [] }));
    expect(ok(matcher, 'EXCH01.Corp.Example', '192.0.2.10')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example.', '192.0.2.10')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example..', '192.0.2.10')).toBe(false);
    expect(ok(matcher, 'LEGACY-MX.', '198.51.100.1')).toBe(true);
  });

  it('takes an IPv4-mapped IPv6 client address as the IPv4 address it carries', () => {
    const matcher = matcherWith(entry({ scope: 'pair' }), entry({ scope: 'ip', addresses: ['198.51.100.0/24'] }));
    expect(ok(matcher, 'exch01.corp.example', '::ffff:192.0.2.10')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '::FFFF:c000:020a')).toBe(true);
    expect(ok(matcher, 'whatever', '::ffff:198.51.100.9')).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '::ffff:192.0.2.11')).toBe(false);
  });

  it('matches an address literal HELO by the address only (exceptions never name a literal)', () => {
    const matcher = matcherWith(entry({ scope: 'ip', addresses: ['192.0.2.10/32'] }), entry({ scope: 'pair', addresses: ['198.51.100.5/32'] }));
    expect(ok(matcher, '[192.0.2.10]', '192.0.2.10')).toBe(true);
    expect(ok(matcher, '[IPv6:2001:db8::1]', '192.0.2.10')).toBe(true);
    expect(ok(matcher, '[198.51.100.5]', '198.51.100.5')).toBe(false);
    expect(ok(matcher, '[192.0.2.10]', '192.0.2.11')).toBe(false);
  });

  it('answers nothing for addresses Postfix may send that are no address', () => {
    const matcher = matcherWith(entry({ scope: 'ip', addresses: ['0.0.0.0/8'] }));
    for (const address of ['unknown', '', '192.0.2', '01.2.3.4', '1.2.3.4.5', '256.1.1.1', 'fe80::1::2']) {
      expect(ok(matcher, 'x', address)).toBe(false);
    }
    expect(ok(matcher, 'x', '0.1.2.3')).toBe(true);
  });
});

describe('PolicyMatcher time and changes', () => {
  it('is in effect from startsAt on and not at expiresAt, to the millisecond', () => {
    const e = entry({ scope: 'pair', startsAt: new Date(NOW), expiresAt: new Date(NOW + 1000) });
    const matcher = matcherWith(e);
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.10', NOW - 1)).toBe(false);
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.10', NOW)).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.10', NOW + 999)).toBe(true);
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.10', NOW + 1000)).toBe(false);
  });

  it('applies changes: added, removed, and a changed exception (removed old, added new)', () => {
    const first = entry({ scope: 'pair' });
    const matcher = matcherWith(first);
    const second = entry({ scope: 'ip', addresses: ['2001:db8::/64'] });
    matcher.onChange({ version: 2n, added: [second], removed: [] });
    expect(ok(matcher, 'x', '2001:db8::1')).toBe(true);
    const moved = { ...first, addresses: ['192.0.2.20/32'] };
    matcher.onChange({ version: 3n, added: [moved], removed: [first] });
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.10')).toBe(false);
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.20')).toBe(true);
    matcher.onChange({ version: 4n, added: [], removed: [moved, second] });
    expect(ok(matcher, 'exch01.corp.example', '192.0.2.20')).toBe(false);
    expect(ok(matcher, 'x', '2001:db8::1')).toBe(false);
    expect(matcher.size).toBe(0);
    expect(matcher.version).toBe(4n);
  });

  it('keeps the other exceptions of a shared network when one leaves', () => {
    const a = entry({ scope: 'pair', heloHostname: 'a.example' });
    const b = entry({ scope: 'pair', heloHostname: 'b.example' });
    const c = entry({ scope: 'ip', addresses: ['192.0.2.0/24'] });
    const matcher = matcherWith(a, b, c);
    matcher.onChange({ version: 2n, added: [], removed: [a, c] });
    expect(ok(matcher, 'a.example', '192.0.2.10')).toBe(false);
    expect(ok(matcher, 'b.example', '192.0.2.10')).toBe(true);
    expect(ok(matcher, 'z.example', '192.0.2.99')).toBe(false);
  });

  it('reports every exception in effect that matched (each counts as used)', () => {
    const pair = entry({ scope: 'pair' });
    const ip = entry({ scope: 'ip', addresses: ['192.0.2.0/24'] });
    const helo = entry({ scope: 'helo', addresses: [] });
    const later = entry({ scope: 'ip', startsAt: new Date(NOW + 60_000) });
    const matcher = matcherWith(pair, ip, helo, later);
    expect(matcher.match('exch01.corp.example', '192.0.2.10', NOW).map((item) => item.exceptionId).sort()).toEqual(
      [pair, ip, helo].map((item) => item.exceptionId).sort(),
    );
  });

  it('onFull replaces everything held before', () => {
    const matcher = matcherWith(entry({ scope: 'ip' }));
    matcher.onFull([entry({ scope: 'ip', addresses: ['198.51.100.1/32'] })], 9n);
    expect(ok(matcher, 'x', '192.0.2.10')).toBe(false);
    expect(ok(matcher, 'x', '198.51.100.1')).toBe(true);
    expect(matcher.version).toBe(9n);
  });
});
