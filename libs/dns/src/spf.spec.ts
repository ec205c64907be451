import { describe, expect, it } from 'vitest';
import { evaluateSpf, spfProves, type SpfEvaluation, type SpfOptions } from './spf.js';
import type { DnsLookup, DnsOutcome, MxRecord } from './types.js';

type RrType = 'txt' | 'a' | 'aaaa' | 'mx';

interface ZoneEntry {
  txt?: string[];
  a?: string[];
  aaaa?: string[];
  mx?: MxRecord[];
  /** answers this name's queries of a type with a failure instead */
  fail?: Partial<Record<RrType, 'timeout' | 'servfail'>>;
}

const RESOLVER = '192.0.2.53:53';

/** An in-memory zone: names it lacks are NXDOMAIN, types a name lacks are NODATA. */
class FakeZone implements DnsLookup {
  readonly queries: string[] = [];
  private readonly names: Record<string, ZoneEntry>;

  constructor(names: Record<string, ZoneEntry>) {
    this.names = names;
  }

  txt(name: string) {
    return this.answer<string>('txt', name);
  }

  a(name: string) {
    return this.answer<string>('a', name);
  }

  aaaa(name: string) {
    return this.answer<string>('aaaa', name);
  }

  mx(name: string) {
    return this.answer<MxRecord>('mx', name);
  }

  ptr(address: string): Promise<DnsOutcome<string>> {
    this.queries.push(`ptr ${address}`);
    return Promise.resolve({ status: 'nxdomain', resolver: RESOLVER });
  }

  private answer<T>(type: RrType, name: string): Promise<DnsOutcome<T>> {
    this.queries.push(`${type} ${name}`);
    const entry = this.names[name.toLowerCase()];
    const failure = entry?.fail?.[type];
    if (failure) {
      return Promise.resolve({ status: failure, resolver: RESOLVER, error: `query ${failure}` });
    }
    if (!entry) {
      return Promise.resolve({ status: 'nxdomain', resolver: RESOLVER });
    }
    const records = (entry[type] ?? []) as T[];
    return Promise.resolve(
      records.length > 0 ? { status: 'ok', resolver: RESOLVER, records } : { status: 'nodata', resolver: RESOLVER },
    );
  }
}

/** A zone where example.com publishes `record`, plus any other names. */
function zoneWith(record: string, others: Record<string, ZoneEntry> = {}): FakeZone {
  return new FakeZone({ 'example.com': { txt: [record] }, ...others });
}

function check(subject: string, zone: FakeZone, options?: SpfOptions): Promise<SpfEvaluation> {
  return evaluateSpf(subject, 'example.com', zone, options);
}

describe('evaluateSpf', () => {
  describe('record selection (RFC 7208 §4.5)', () => {
    it('is none when the domain does not exist', async () => {
      const evaluation = await evaluateSpf('192.0.2.10', 'missing.example', new FakeZone({}));
      expect(evaluation).toEqual({
        result: 'none',
        mechanism: null,
        domain: null,
        lookups: 0,
        reason: 'missing.example has no SPF record',
      });
    });

    it('is none when the domain has TXT records but none is SPF', async () => {
      const zone = new FakeZone({
        'example.com': { txt: ['google-site-verification=abc', 'v=spf10 -all', 'v=spf1x -all', 'spf1 -all'] },
      });
      expect((await check('192.0.2.10', zone)).result).toBe('none');
    });

    it('is none when the domain has no TXT records at all', async () => {
      const zone = new FakeZone({ 'example.com': { a: ['192.0.2.1'] } });
      expect((await check('192.0.2.10', zone)).result).toBe('none');
    });

    it('is permerror when the domain publishes two SPF records', async () => {
      const zone = new FakeZone({ 'example.com': { txt: ['v=spf1 ip4:192.0.2.10 -all', 'v=spf1 -all'] } });
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, domain: null, lookups: 0 });
      expect(evaluation.reason).toContain('2 SPF records');
    });

    it('is temperror when the first TXT lookup times out', async () => {
      const zone = new FakeZone({ 'example.com': { txt: ['v=spf1 +all'], fail: { txt: 'timeout' } } });
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({ result: 'temperror', mechanism: null, lookups: 0 });
      expect(evaluation.reason).toContain('timed out at 192.0.2.53:53');
    });

    it('matches "v=spf1" and the mechanisms in any case', async () => {
      const zone = new FakeZone({
        'example.com': { txt: ['V=SPF1 Include:_SPF.Example.NET -ALL'] },
        '_spf.example.net': { txt: ['v=Spf1 IP4:192.0.2.0/24 -all'] },
      });
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({
        result: 'pass',
        mechanism: 'IP4:192.0.2.0/24',
        domain: '_spf.example.net',
        lookups: 1,
      });
      expect(spfProves(evaluation)).toBe(true);
    });

    it('is neutral for a record without terms', async () => {
      expect(await check('192.0.2.10', zoneWith('v=spf1'))).toMatchObject({
        result: 'neutral',
        mechanism: null,
        lookups: 0,
      });
    });

    it('parses a long record whose strings DNS already concatenated', async () => {
      const networks = Array.from({ length: 40 }, (_, i) => `ip4:198.51.${i}.0/24`);
      const record = `v=spf1 ${networks.join(' ')} ip4:192.0.2.10 ~all`;
      expect(record.length).toBeGreaterThan(255);
      expect(await check('192.0.2.10', zoneWith(record))).toMatchObject({
        result: 'pass',
        mechanism: 'ip4:192.0.2.10',
        domain: 'example.com',
        lookups: 0,
      });
    });
  });

  describe('ip4 and ip6', () => {
    it('passes a single address named exactly', async () => {
      const evaluation = await check('192.0.2.10', zoneWith('v=spf1 ip4:192.0.2.10 -all'));
      expect(evaluation).toEqual({
        result: 'pass',
        mechanism: 'ip4:192.0.2.10',
        domain: 'example.com',
        lookups: 0,
        reason: 'ip4:192.0.2.10 in example.com authorizes it',
      });
    });

    it('passes an address inside a network, and not one outside it', async () => {
      const zone = zoneWith('v=spf1 ip4:192.0.2.0/24 -all');
      expect(await check('192.0.2.200', zone)).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.0/24' });
      expect(await check('192.0.3.1', zone)).toMatchObject({ result: 'fail', mechanism: '-all' });
    });

    it('passes IPv6 addresses with and without a prefix length', async () => {
      const zone = zoneWith('v=spf1 ip6:2001:db8::25 ip6:2001:db8:aa::/48 -all');
      expect(await check('2001:db8::25', zone)).toMatchObject({ result: 'pass', mechanism: 'ip6:2001:db8::25' });
      expect(await check('2001:db8::26', zone)).toMatchObject({ result: 'fail', mechanism: '-all' });
      expect(await check('2001:db8:aa:1::9', zone)).toMatchObject({ result: 'pass', mechanism: 'ip6:2001:db8:aa::/48' });
    });

    it('never matches an address of the other family', async () => {
      expect(await check('192.0.2.10', zoneWith('v=spf1 ip6:::/0 -all'))).toMatchObject({ result: 'fail' });
      expect(await check('2001:db8::1', zoneWith('v=spf1 ip4:0.0.0.0/0 -all'))).toMatchObject({ result: 'fail' });
    });

    it('treats an IPv4-mapped IPv6 subject as IPv4', async () => {
      expect(await check('::ffff:192.0.2.10', zoneWith('v=spf1 ip4:192.0.2.0/24 -all'))).toMatchObject({
        result: 'pass',
        mechanism: 'ip4:192.0.2.0/24',
      });
    });
  });

  describe('prefix subjects', () => {
    it('passes a prefix lying wholly inside the network', async () => {
      const zone = zoneWith('v=spf1 ip4:192.0.2.0/24 -all');
      expect(await check('192.0.2.16/28', zone)).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.0/24' });
      expect(await check('192.0.2.0/24', zone)).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.0/24' });
    });

    it('does not pass a prefix only partly inside the network', async () => {
      const evaluation = await check('192.0.2.0/24', zoneWith('v=spf1 ip4:192.0.2.0/26 -all'));
      expect(evaluation).toMatchObject({ result: 'fail', mechanism: '-all', domain: 'example.com' });
      expect(evaluation.reason).toContain('ip4:192.0.2.0/26 in example.com covers only part of the prefix');
    });

    it('passes an IPv6 prefix inside the network and not a wider one', async () => {
      const zone = zoneWith('v=spf1 ip6:2001:db8::/32 ~all');
      expect(await check('2001:db8:1::/48', zone)).toMatchObject({ result: 'pass', mechanism: 'ip6:2001:db8::/32' });
      expect(await check('2001:db8::/31', zone)).toMatchObject({ result: 'softfail', mechanism: '~all' });
    });

    it('lets a rejecting term that covers part of the prefix decide, since those addresses fail', async () => {
      const evaluation = await check('192.0.2.0/24', zoneWith('v=spf1 -ip4:192.0.2.8/29 ip4:192.0.2.0/24 -all'));
      expect(evaluation).toMatchObject({ result: 'fail', mechanism: '-ip4:192.0.2.8/29', domain: 'example.com' });
      expect(spfProves(evaluation)).toBe(false);
    });
  });

  describe('all and qualifiers', () => {
    it.each([
      ['-all', 'fail'],
      ['~all', 'softfail'],
      ['?all', 'neutral'],
      ['+all', 'pass'],
      ['all', 'pass'],
    ] as const)('%s gives %s', async (all, result) => {
      const evaluation = await check('192.0.2.10', zoneWith(`v=spf1 ip4:198.51.100.0/24 ${all}`));
      expect(evaluation).toMatchObject({ result, mechanism: all, domain: 'example.com', lookups: 0 });
      expect(spfProves(evaluation)).toBe(false);
    });

    it('says that +all proves nothing', async () => {
      expect((await check('192.0.2.10', zoneWith('v=spf1 +all'))).reason).toBe(
        '+all in example.com authorizes every address, which proves nothing about this one',
      );
    });

    it('applies qualifiers to other mechanisms', async () => {
      expect(await check('192.0.2.10', zoneWith('v=spf1 ~ip4:192.0.2.10 +all'))).toMatchObject({
        result: 'softfail',
        mechanism: '~ip4:192.0.2.10',
      });
      expect(await check('192.0.2.10', zoneWith('v=spf1 ?ip4:192.0.2.10 +all'))).toMatchObject({
        result: 'neutral',
        mechanism: '?ip4:192.0.2.10',
      });
    });

    it('is neutral when nothing matched and there is no all', async () => {
      expect(await check('192.0.2.10', zoneWith('v=spf1 ip4:198.51.100.1'))).toMatchObject({
        result: 'neutral',
        mechanism: null,
        domain: null,
      });
    });
  });

  describe('a and mx', () => {
    it('passes an address of the domain itself', async () => {
      const withA = new FakeZone({ 'example.com': { txt: ['v=spf1 a -all'], a: ['192.0.2.10'] } });
      expect(await check('192.0.2.10', withA)).toMatchObject({
        result: 'pass',
        mechanism: 'a',
        domain: 'example.com',
        lookups: 1,
      });
      expect(await check('192.0.2.11', withA)).toMatchObject({ result: 'fail', mechanism: '-all', lookups: 1 });
    });

    it('applies an IPv4 prefix length to the addresses of a named host', async () => {
      const zone = zoneWith('v=spf1 a:mail.example.net/28 -all', { 'mail.example.net': { a: ['192.0.2.1'] } });
      expect(await check('192.0.2.14', zone)).toMatchObject({ result: 'pass', mechanism: 'a:mail.example.net/28' });
      expect(await check('192.0.2.16', zone)).toMatchObject({ result: 'fail' });
      expect(await check('192.0.2.0/28', zone)).toMatchObject({ result: 'pass' });
      expect(await check('192.0.2.0/27', zone)).toMatchObject({ result: 'fail' });
    });

    it('asks for AAAA records for an IPv6 subject and applies the IPv6 length', async () => {
      const zone = new FakeZone({
        'example.com': { txt: ['v=spf1 a/24//64 -all'], a: ['192.0.2.1'], aaaa: ['2001:db8:5::1'] },
      });
      expect(await check('2001:db8:5::abcd', zone)).toMatchObject({ result: 'pass', mechanism: 'a/24//64' });
      expect(zone.queries).toEqual(['txt example.com', 'aaaa example.com']);
      expect(await check('192.0.2.77', zone)).toMatchObject({ result: 'pass', mechanism: 'a/24//64' });
      expect(await check('2001:db8:6::1', zone)).toMatchObject({ result: 'fail' });
    });

    it('passes an address of an MX host, with a prefix length', async () => {
      const zone = new FakeZone({
        'example.com': {
          txt: ['v=spf1 mx/24 -all'],
          mx: [
            { exchange: 'mx2.example.com', priority: 20 },
            { exchange: 'mx1.example.com', priority: 10 },
          ],
        },
        'mx1.example.com': { a: ['198.51.100.1'] },
        'mx2.example.com': { a: ['192.0.2.1'] },
      });
      expect(await check('192.0.2.200', zone)).toMatchObject({
        result: 'pass',
        mechanism: 'mx/24',
        domain: 'example.com',
        lookups: 1,
      });
      expect(await check('203.0.113.1', zone)).toMatchObject({ result: 'fail', lookups: 1 });
    });

    it('looks up the MX hosts of another domain for mx:domain', async () => {
      const zone = zoneWith('v=spf1 mx:example.org -all', {
        'example.org': { mx: [{ exchange: 'mail.example.org.', priority: 0 }] },
        'mail.example.org': { aaaa: ['2001:db8::25'] },
      });
      expect(await check('2001:db8::25', zone)).toMatchObject({ result: 'pass', mechanism: 'mx:example.org' });
    });

    it('accepts 10 MX hosts and is permerror with 11 (§4.6.4)', async () => {
      const hosts = (count: number) =>
        Array.from({ length: count }, (_, i) => ({ exchange: `mx${i}.example.com`, priority: i }));
      const names = Object.fromEntries(
        Array.from({ length: 11 }, (_, i) => [`mx${i}.example.com`, { a: [`198.51.100.${i}`] }]),
      );
      const ten = new FakeZone({ ...names, 'example.com': { txt: ['v=spf1 mx -all'], mx: hosts(10) } });
      expect(await check('198.51.100.9', ten)).toMatchObject({ result: 'pass', mechanism: 'mx' });
      const eleven = new FakeZone({ ...names, 'example.com': { txt: ['v=spf1 mx -all'], mx: hosts(11) } });
      const evaluation = await check('198.51.100.0', eleven);
      expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, lookups: 1 });
      expect(evaluation.reason).toContain('11 MX hosts');
    });

    it('is temperror when an address lookup fails during a mechanism', async () => {
      const zone = zoneWith('v=spf1 a:mail.example.com ip4:192.0.2.10 -all', {
        'mail.example.com': { fail: { a: 'servfail' } },
      });
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({ result: 'temperror', mechanism: null, lookups: 1 });
      expect(evaluation.reason).toContain('A mail.example.com failed (SERVFAIL)');
    });

    it('is temperror when an MX host cannot be resolved', async () => {
      const zone = new FakeZone({
        'example.com': { txt: ['v=spf1 mx -all'], mx: [{ exchange: 'mx.example.com', priority: 10 }] },
        'mx.example.com': { fail: { a: 'timeout' } },
      });
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'temperror', lookups: 1 });
    });
  });

  describe('include', () => {
    it('passes through an include chain three deep', async () => {
      const zone = zoneWith('v=spf1 include:_spf.example.com -all', {
        '_spf.example.com': { txt: ['v=spf1 ip4:198.51.100.0/24 include:_spf.provider.net -all'] },
        '_spf.provider.net': { txt: ['v=spf1 include:_netblocks.provider.net ~all'] },
        '_netblocks.provider.net': { txt: ['v=spf1 ip4:192.0.2.0/25 ip6:2001:db8::/32 ?all'] },
      });
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toEqual({
        result: 'pass',
        mechanism: 'ip4:192.0.2.0/25',
        domain: '_netblocks.provider.net',
        lookups: 3,
        reason:
          'ip4:192.0.2.0/25 in _netblocks.provider.net authorizes it, reached through ' +
          'include:_spf.example.com in example.com → include:_spf.provider.net in _spf.example.com → ' +
          'include:_netblocks.provider.net in _spf.provider.net',
      });
      expect(spfProves(evaluation)).toBe(true);
    });

    it('does not match when the included policy fails, softfails or is neutral', async () => {
      for (const all of ['-all', '~all', '?all']) {
        const zone = zoneWith('v=spf1 include:_spf.provider.net ip4:192.0.2.10 -all', {
          '_spf.provider.net': { txt: [`v=spf1 ip4:198.51.100.0/24 ${all}`] },
        });
        expect(await check('192.0.2.10', zone)).toMatchObject({
          result: 'pass',
          mechanism: 'ip4:192.0.2.10',
          domain: 'example.com',
          lookups: 1,
        });
      }
    });

    it('does not prove anything when the included policy passes through +all', async () => {
      const zone = zoneWith('v=spf1 include:lax.example.net -all', { 'lax.example.net': { txt: ['v=spf1 +all'] } });
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({ result: 'pass', mechanism: '+all', domain: 'lax.example.net' });
      expect(spfProves(evaluation)).toBe(false);
    });

    it('decides with the include qualifier when the included policy passes', async () => {
      const zone = zoneWith('v=spf1 -include:blocked.example.net +all', {
        'blocked.example.net': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
      });
      expect(await check('192.0.2.10', zone)).toMatchObject({
        result: 'fail',
        mechanism: '-include:blocked.example.net',
        domain: 'example.com',
      });
    });

    it('is permerror when the included domain has no SPF record (§5.2)', async () => {
      const variants: Record<string, ZoneEntry>[] = [{}, { 'nospf.example.net': { txt: ['some other text'] } }];
      for (const others of variants) {
        const zone = zoneWith('v=spf1 include:nospf.example.net +all', others);
        const evaluation = await check('192.0.2.10', zone);
        expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, domain: null, lookups: 1 });
        expect(evaluation.reason).toContain('include:nospf.example.net in example.com names a domain without an SPF record');
      }
    });

    it('propagates a temperror from an included domain', async () => {
      const zone = zoneWith('v=spf1 include:_spf.provider.net +all', {
        '_spf.provider.net': { fail: { txt: 'servfail' } },
      });
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({ result: 'temperror', mechanism: null, lookups: 1 });
      expect(evaluation.reason).toContain('reached through include:_spf.provider.net in example.com');
    });

    it('propagates a permerror from an included domain', async () => {
      const zone = zoneWith('v=spf1 include:_spf.provider.net +all', {
        '_spf.provider.net': { txt: ['v=spf1 ip5:192.0.2.0/24 -all'] },
      });
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'permerror', lookups: 1 });
    });

    it('stops an include loop quickly with permerror', async () => {
      const zone = new FakeZone({
        'a.example': { txt: ['v=spf1 include:b.example -all'] },
        'b.example': { txt: ['v=spf1 include:a.example -all'] },
      });
      const evaluation = await evaluateSpf('192.0.2.10', 'a.example', zone);
      expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, lookups: 2 });
      expect(evaluation.reason).toContain('a.example → b.example → a.example');
      expect(zone.queries).toEqual(['txt a.example', 'txt b.example']);
    });

    it('stops a loop through a redirect with permerror', async () => {
      const zone = new FakeZone({
        'a.example': { txt: ['v=spf1 redirect=b.example'] },
        'b.example': { txt: ['v=spf1 include:c.example'] },
        'c.example': { txt: ['v=spf1 redirect=a.example'] },
      });
      expect(await evaluateSpf('192.0.2.10', 'a.example', zone)).toMatchObject({ result: 'permerror', lookups: 3 });
    });
  });

  describe('redirect', () => {
    it('uses the target policy when nothing matched', async () => {
      const zone = zoneWith('v=spf1 ip4:198.51.100.1 redirect=_spf.example.net', {
        '_spf.example.net': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
      });
      expect(await check('192.0.2.10', zone)).toMatchObject({
        result: 'pass',
        mechanism: 'ip4:192.0.2.0/24',
        domain: '_spf.example.net',
        lookups: 1,
      });
      expect(await check('203.0.113.1', zone)).toMatchObject({
        result: 'fail',
        mechanism: '-all',
        domain: '_spf.example.net',
        lookups: 1,
      });
    });

    it('is ignored when a mechanism matched', async () => {
      const zone = zoneWith('v=spf1 ip4:192.0.2.10 redirect=missing.example.net');
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.10', lookups: 0 });
      expect(zone.queries).toEqual(['txt example.com']);
    });

    it('is ignored when the record has an all mechanism (§6.1)', async () => {
      const zone = zoneWith('v=spf1 redirect=_spf.example.net ip4:198.51.100.1 ?all', {
        '_spf.example.net': { txt: ['v=spf1 +all'] },
      });
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'neutral', mechanism: '?all', lookups: 0 });
    });

    it('is permerror when the target has no SPF record', async () => {
      const evaluation = await check('192.0.2.10', zoneWith('v=spf1 redirect=missing.example.net'));
      expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, lookups: 1 });
      expect(evaluation.reason).toContain('names a domain without an SPF record');
    });
  });

  describe('exists and ptr', () => {
    it('matches when the name has an A record, and counts a void lookup when not', async () => {
      const zone = zoneWith('v=spf1 exists:allowed.example.com -all', { 'allowed.example.com': { a: ['127.0.0.2'] } });
      expect(await check('2001:db8::1', zone)).toMatchObject({
        result: 'pass',
        mechanism: 'exists:allowed.example.com',
        lookups: 1,
      });
      expect(zone.queries).toContain('a allowed.example.com');
      const absent = zoneWith('v=spf1 exists:absent.example.com -all');
      expect(await check('192.0.2.10', absent)).toMatchObject({ result: 'fail', mechanism: '-all', lookups: 1 });
    });

    it('counts ptr as a lookup and never passes with it', async () => {
      const zone = zoneWith('v=spf1 ptr ip4:192.0.2.10 -all');
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.10', lookups: 1 });
      const only = await check('192.0.2.10', zoneWith('v=spf1 ptr:example.com -all'));
      expect(only).toMatchObject({ result: 'fail', mechanism: '-all', lookups: 1 });
      expect(only.reason).toContain('ptr:example.com in example.com is not evaluated');
    });

    it('takes a rejecting ptr to apply', async () => {
      expect(await check('192.0.2.10', zoneWith('v=spf1 -ptr +all'))).toMatchObject({
        result: 'fail',
        mechanism: '-ptr',
      });
    });
  });

  describe('macros (RFC 7208 §7)', () => {
    it('expands %{i} for an IPv4 address', async () => {
      const zone = zoneWith('v=spf1 exists:%{i}._spf.example.com -all', {
        '192.0.2.10._spf.example.com': { a: ['127.0.0.2'] },
      });
      expect(await check('192.0.2.10', zone)).toMatchObject({
        result: 'pass',
        mechanism: 'exists:%{i}._spf.example.com',
        lookups: 1,
      });
    });

    it('expands reversal, %{v}, %{d} and %{o}', async () => {
      const zone = zoneWith('v=spf1 exists:%{ir}.%{v}.%{o}._spf.%{d2} -all', {
        '10.2.0.192.in-addr.example.com._spf.example.com': { a: ['127.0.0.2'] },
      });
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'pass' });
    });

    it('expands %{i} for an IPv6 address in nibbles', async () => {
      const nibbles = '2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.5';
      const zone = zoneWith('v=spf1 exists:%{ir}.%{v}.example.com -all', {
        [`${nibbles.split('.').reverse().join('.')}.ip6.example.com`]: { a: ['127.0.0.2'] },
      });
      expect(await check('2001:db8::25', zone)).toMatchObject({ result: 'pass' });
    });

    it('does not pass a prefix through a term that depends on each address', async () => {
      const zone = zoneWith('v=spf1 exists:%{i}._spf.example.com -all');
      const evaluation = await check('192.0.2.0/28', zone);
      expect(evaluation).toMatchObject({ result: 'fail', mechanism: '-all', lookups: 1 });
      expect(evaluation.reason).toContain('depends on each address (%{i})');
      expect(zone.queries).toEqual(['txt example.com']);
    });

    it.each(['v=spf1 exists:%{x}.example.com -all', 'v=spf1 exists:%{c}.example.com -all', 'v=spf1 a:%{i0}.example.com'])(
      'is permerror for an invalid macro: %s',
      async (record) => {
        expect(await check('192.0.2.10', zoneWith(record))).toMatchObject({ result: 'permerror', lookups: 0 });
      },
    );
  });

  describe('syntax errors', () => {
    it.each([
      ['unknown mechanism', 'v=spf1 ip5:192.0.2.0/24 -all'],
      ['unknown mechanism after a match', 'v=spf1 ip4:192.0.2.10 foo -all'],
      ['address out of range', 'v=spf1 ip4:192.0.2.256 -all'],
      ['short address', 'v=spf1 ip4:192.0.2 -all'],
      ['leading zero', 'v=spf1 ip4:192.0.2.010 -all'],
      ['IPv6 in ip4', 'v=spf1 ip4:2001:db8::1 -all'],
      ['IPv4 in ip6', 'v=spf1 ip6:192.0.2.1 -all'],
      ['prefix too long', 'v=spf1 ip4:192.0.2.0/33 -all'],
      ['prefix with leading zero', 'v=spf1 a/024 -all'],
      ['missing domain', 'v=spf1 include: -all'],
      ['single-label domain', 'v=spf1 a:localhost -all'],
      ['argument to all', 'v=spf1 all:example.com'],
      ['qualified modifier', 'v=spf1 +redirect=example.net'],
      ['two redirects', 'v=spf1 redirect=a.example.net redirect=b.example.net'],
      ['bare percent', 'v=spf1 exists:100%.example.com -all'],
    ])('%s is permerror', async (_, record) => {
      const evaluation = await check('192.0.2.10', zoneWith(record));
      expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, domain: null, lookups: 0 });
      expect(evaluation.reason).toMatch(/^the SPF record of example\.com is invalid: /);
    });

    it('names an unknown mechanism in the reason', async () => {
      expect((await check('192.0.2.10', zoneWith('v=spf1 ip5:192.0.2.0/24 -all'))).reason).toBe(
        'the SPF record of example.com is invalid: unknown mechanism "ip5"',
      );
    });

    it('ignores unknown modifiers and exp=', async () => {
      const zone = zoneWith('v=spf1 moo=cow exp=explain.%{d} ip4:192.0.2.10 -all');
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.10' });
      expect(zone.queries).toEqual(['txt example.com']);
    });
  });

  describe('lookup limits (RFC 7208 §4.6.4)', () => {
    /** example.com with `count` a: terms, each host resolving; only the last one's address is 192.0.2.10. */
    function hostsZone(count: number): FakeZone {
      const hosts = Array.from({ length: count }, (_, i) => `h${i + 1}.example.com`);
      return new FakeZone({
        'example.com': { txt: [`v=spf1 ${hosts.map((host) => `a:${host}`).join(' ')} -all`] },
        ...Object.fromEntries(
          hosts.map((host, i) => [host, { a: [i === count - 1 ? '192.0.2.10' : `198.51.100.${i}`] }]),
        ),
      });
    }

    it('allows exactly 10 DNS-querying terms', async () => {
      expect(await check('192.0.2.10', hostsZone(10))).toMatchObject({
        result: 'pass',
        mechanism: 'a:h10.example.com',
        lookups: 10,
      });
    });

    it('is permerror at the 11th, without querying it', async () => {
      const zone = hostsZone(11);
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, domain: null, lookups: 11 });
      expect(evaluation.reason).toContain('DNS lookup limit exceeded');
      expect(zone.queries).not.toContain('a h11.example.com');
    });

    it('counts lookups across nested includes', async () => {
      const nested = (last: string) =>
        zoneWith('v=spf1 a:h1.example.com a:h2.example.com include:_spf1.example.com -all', {
          ...Object.fromEntries(
            Array.from({ length: 9 }, (_, i) => [`h${i + 1}.example.com`, { a: [`198.51.100.${i}`] }]),
          ),
          '_spf1.example.com': {
            txt: [
              `v=spf1 ${[3, 4, 5, 6, 7, 8].map((n) => `a:h${n}.example.com`).join(' ')} include:_spf2.example.com -all`,
            ],
          },
          '_spf2.example.com': { txt: [last] },
        });
      expect(await check('192.0.2.10', nested('v=spf1 ip4:192.0.2.0/24 -all'))).toMatchObject({
        result: 'pass',
        domain: '_spf2.example.com',
        lookups: 10,
      });
      expect(await check('192.0.2.10', nested('v=spf1 a:h9.example.com ip4:192.0.2.0/24 -all'))).toMatchObject({
        result: 'permerror',
        lookups: 11,
      });
    });

    it('honours a configured limit', async () => {
      expect(await check('192.0.2.10', hostsZone(3), { maxLookups: 2 })).toMatchObject({
        result: 'permerror',
        lookups: 3,
      });
    });

    it('allows two void lookups', async () => {
      const zone = zoneWith('v=spf1 a:gone1.example.com mx:gone2.example.com ip4:192.0.2.10 -all');
      expect(await check('192.0.2.10', zone)).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.10', lookups: 2 });
    });

    it('is permerror at the third void lookup', async () => {
      const zone = zoneWith(
        'v=spf1 a:gone1.example.com mx:gone2.example.com exists:gone3.example.com ip4:192.0.2.10 -all',
        { 'gone2.example.com': { a: ['198.51.100.1'] } },
      );
      const evaluation = await check('192.0.2.10', zone);
      expect(evaluation).toMatchObject({ result: 'permerror', mechanism: null, lookups: 3 });
      expect(evaluation.reason).toContain('void lookup limit exceeded');
    });
  });

  describe('never throws', () => {
    it('is temperror when the resolver rejects', async () => {
      const broken: DnsLookup = {
        txt: () => Promise.reject(new Error('socket closed')),
        a: () => Promise.reject(new Error('socket closed')),
        aaaa: () => Promise.reject(new Error('socket closed')),
        mx: () => Promise.reject(new Error('socket closed')),
        ptr: () => Promise.reject(new Error('socket closed')),
      };
      const evaluation = await evaluateSpf('192.0.2.10', 'example.com', broken);
      expect(evaluation).toMatchObject({ result: 'temperror', mechanism: null, lookups: 0 });
      expect(evaluation.reason).toContain('socket closed');
    });

    it.each(['not-an-address', '192.0.2.1/33', '192.0.2.010', '', '::ffff:192.0.2.0/64', 'fe80::1%eth0'])(
      'is permerror for the subject %j',
      async (subject) => {
        const zone = zoneWith('v=spf1 +all');
        expect(await check(subject, zone)).toMatchObject({ result: 'permerror', mechanism: null, lookups: 0 });
        expect(zone.queries).toEqual([]);
      },
    );

    it.each(['', 'localhost', 'a..example', `${'x'.repeat(64)}.example`])(
      'is none for the malformed domain %j (§4.3)',
      async (domain) => {
        expect(await evaluateSpf('192.0.2.10', domain, new FakeZone({}))).toMatchObject({ result: 'none' });
      },
    );
  });
});

describe('spfProves', () => {
  const evaluation = (result: SpfEvaluation['result'], mechanism: string | null): SpfEvaluation => ({
    result,
    mechanism,
    domain: mechanism && 'example.com',
    lookups: 0,
    reason: '',
  });

  it('is true for a pass decided by a mechanism naming senders', () => {
    expect(spfProves(evaluation('pass', 'ip4:192.0.2.0/24'))).toBe(true);
    expect(spfProves(evaluation('pass', 'mx'))).toBe(true);
  });

  it('is false for a pass through all, and for anything but pass', () => {
    expect(spfProves(evaluation('pass', '+all'))).toBe(false);
    expect(spfProves(evaluation('pass', 'ALL'))).toBe(false);
    expect(spfProves(evaluation('neutral', '?all'))).toBe(false);
    expect(spfProves(evaluation('fail', '-ip4:192.0.2.0/24'))).toBe(false);
    expect(spfProves(evaluation('softfail', '~ip4:192.0.2.0/24'))).toBe(false);
    expect(spfProves(evaluation('none', null))).toBe(false);
  });
});
