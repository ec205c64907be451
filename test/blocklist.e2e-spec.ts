import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlocklistChecker, DnsClient, parseBlocklistZones } from '../libs/dns/src/index.js';
import { ManualClock } from '../libs/domain/src/clock.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';

// Blocklist lookups through c-ares against a DNS server on 127.0.0.1 that
// serves local blocklist zones, as a DNSxL operator's server would.
let server: TestDnsServer;

beforeAll(async () => {
  server = await startTestDnsServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A zone of its own per test, so tests share no records or cache entries. */
function zoneName(): string {
  return `bl-${randomUUID().slice(0, 8)}.example.net`;
}

function checker(
  zones: { address?: string; domain?: string },
  options: { clock?: ManualClock; maxAddresses?: number; concurrency?: number } = {},
): { checker: BlocklistChecker; clock: ManualClock } {
  const clock = options.clock ?? new ManualClock(new Date('2026-12-02T10:00:00Z'));
  const dns = new DnsClient({ resolvers: [server.address], timeoutMs: 300, tries: 1 });
  return {
    clock,
    checker: new BlocklistChecker({
      dns,
      addressZones: parseBlocklistZones(zones.address ?? ''),
      domainZones: parseBlocklistZones(zones.domain ?? ''),
      maxAddresses: options.maxAddresses ?? 256,
      clock,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    }),
  };
}

const asked = (name: string) => server.queries.filter((query) => query.name.toLowerCase() === name && query.type === 'A').length;

describe('address lookups', () => {
  it('counts an answer among the configured return codes as listed, with the list’s TXT reason', async () => {
    const zone = zoneName();
    server.a(`99.2.0.192.${zone}`, ['127.0.0.4']);
    server.txt(`99.2.0.192.${zone}`, ['Listed: see https://lists.example.net/q/192.0.2.99']);
    server.a(`98.2.0.192.${zone}`, ['127.0.0.12']);
    const { checker: blocklists } = checker({ address: `${zone}:127.0.0.2-127.0.0.11` });

    expect(await blocklists.lookupAddress('192.0.2.99')).toEqual([
      {
        zone,
        query: `99.2.0.192.${zone}`,
        status: 'listed',
        answers: ['127.0.0.4'],
        reason: 'Listed: see https://lists.example.net/q/192.0.2.99',
      },
    ]);
    // An answer outside the configured codes is the list's, but not one the operator counts.
    expect(await blocklists.lookupAddress('192.0.2.98')).toEqual([
      { zone, query: `98.2.0.192.${zone}`, status: 'not_listed', ignoredAnswers: ['127.0.0.12'] },
    ]);
  });

  it('counts any 127/8 answer as listed in a zone without codes, and asks IPv6 addresses by nibble', async () => {
    const zone = zoneName();
    const v6Name = `1.0.0.0.${'0.'.repeat(20)}8.b.d.0.1.0.0.2.${zone}`;
    server.a(`7.2.0.192.${zone}`, ['127.1.2.3']);
    server.a(v6Name, ['127.0.0.2']);
    const { checker: blocklists } = checker({ address: zone });

    expect(await blocklists.lookupAddress('192.0.2.7')).toMatchObject([{ status: 'listed', answers: ['127.1.2.3'] }]);
    expect(await blocklists.lookupAddress('2001:db8::1')).toEqual([{ zone, query: v6Name, status: 'listed', answers: ['127.0.0.2'] }]);
  });

  it('reads NXDOMAIN and NODATA as not listed', async () => {
    const zone = zoneName();
    server.txt(`5.2.0.192.${zone}`, ['a TXT record alone']);
    const { checker: blocklists } = checker({ address: zone });

    expect(await blocklists.lookupAddress('192.0.2.6')).toEqual([{ zone, query: `6.2.0.192.${zone}`, status: 'not_listed' }]);
    expect(await blocklists.lookupAddress('192.0.2.5')).toEqual([{ zone, query: `5.2.0.192.${zone}`, status: 'not_listed' }]);
  });

  it('reads the list’s "query refused" answer 127.255.255.254 as unknown, not listed', async () => {
    const zone = zoneName();
    server.a(`9.2.0.192.${zone}`, ['127.255.255.254']);
    const { checker: blocklists } = checker({ address: `${zone}:127.0.0.2-127.0.0.11` });

    expect(await blocklists.lookupAddress('192.0.2.9')).toEqual([
      {
        zone,
        query: `9.2.0.192.${zone}`,
        status: 'unknown',
        reason: 'the list refused the query (asked through a public or open resolver): 127.255.255.254',
        answers: ['127.255.255.254'],
      },
    ]);
  });

  it('never counts a timeout or SERVFAIL as listed, and asks again next time', async () => {
    const zone = zoneName();
    server.timeout(`10.2.0.192.${zone}`);
    server.servfail(`11.2.0.192.${zone}`);
    const { checker: blocklists } = checker({ address: zone });

    expect(await blocklists.lookupAddress('192.0.2.10')).toEqual([
      { zone, query: `10.2.0.192.${zone}`, status: 'unknown', reason: expect.stringContaining('timeout') },
    ]);
    expect(await blocklists.lookupAddress('192.0.2.11')).toEqual([
      { zone, query: `11.2.0.192.${zone}`, status: 'unknown', reason: 'servfail (ESERVFAIL)' },
    ]);
    // Not cached: once the list answers again, its answer counts at once.
    server.remove(`11.2.0.192.${zone}`);
    server.a(`11.2.0.192.${zone}`, ['127.0.0.2']);
    expect(await blocklists.lookupAddress('192.0.2.11')).toMatchObject([{ status: 'listed', answers: ['127.0.0.2'] }]);
    expect(asked(`11.2.0.192.${zone}`)).toBe(2);
  });
});

describe('the cache', () => {
  it('answers from the cache within the TTL and asks again once it has passed', async () => {
    const zone = zoneName();
    const name = `20.2.0.192.${zone}`;
    server.a(name, ['127.0.0.2'], 300);
    const { checker: blocklists, clock } = checker({ address: zone });

    expect(await blocklists.lookupAddress('192.0.2.20')).toMatchObject([{ status: 'listed' }]);
    // Delisted at the list; the cached answer stands for the rest of its TTL.
    server.remove(name);
    clock.advance(299_000);
    expect(await blocklists.lookupAddress('192.0.2.20')).toMatchObject([{ status: 'listed' }]);
    expect(asked(name)).toBe(1);

    clock.advance(2_000);
    expect(await blocklists.lookupAddress('192.0.2.20')).toMatchObject([{ status: 'not_listed' }]);
    expect(asked(name)).toBe(2);
  });

  it('keeps "not listed" for a minute (no SOA to read its negative TTL from), and a TTL of 0 not at all', async () => {
    const zone = zoneName();
    server.a(`22.2.0.192.${zone}`, ['127.0.0.2'], 0);
    const { checker: blocklists, clock } = checker({ address: zone });

    await blocklists.lookupAddress('192.0.2.21');
    server.a(`21.2.0.192.${zone}`, ['127.0.0.2']);
    clock.advance(59_000);
    expect(await blocklists.lookupAddress('192.0.2.21')).toMatchObject([{ status: 'not_listed' }]);
    clock.advance(2_000);
    expect(await blocklists.lookupAddress('192.0.2.21')).toMatchObject([{ status: 'listed' }]);
    expect(asked(`21.2.0.192.${zone}`)).toBe(2);

    await blocklists.lookupAddress('192.0.2.22');
    await blocklists.lookupAddress('192.0.2.22');
    expect(asked(`22.2.0.192.${zone}`)).toBe(2);
  });

  it('asks once for a name that several checks want at the same time', async () => {
    const zone = zoneName();
    const { checker: blocklists } = checker({ address: zone });

    await Promise.all([blocklists.lookupAddress('192.0.2.23'), blocklists.lookupAddress('192.0.2.23')]);
    expect(asked(`23.2.0.192.${zone}`)).toBe(1);
  });
});

describe('checking a mail server', () => {
  it('looks up every address of a small prefix and the HELO name, itemising listings and unknowns', async () => {
    const zone = zoneName();
    const domainZone = zoneName();
    server.a(`2.100.51.198.${zone}`, ['127.0.0.3']);
    server.timeout(`3.100.51.198.${zone}`);
    server.a(`mail.example.com.${domainZone}`, ['127.0.1.2']);
    const { checker: blocklists } = checker({ address: zone, domain: `${domainZone}:127.0.1.2-127.0.1.99` });

    const report = await blocklists.checkServer({ prefixes: ['198.51.100.0/30'], heloHostname: 'mail.example.com' });

    expect(report).toEqual({
      addressZones: [zone],
      domainZones: [domainZone],
      prefixes: [{ prefix: '198.51.100.0/30', checked: 4, total: '4', partial: false }],
      heloHostname: 'mail.example.com',
      listed: [
        { subject: '198.51.100.2', zone, query: `2.100.51.198.${zone}`, answers: ['127.0.0.3'] },
        { subject: 'mail.example.com', zone: domainZone, query: `mail.example.com.${domainZone}`, answers: ['127.0.1.2'] },
      ],
      unknown: [{ subject: '198.51.100.3', zone, query: `3.100.51.198.${zone}`, reason: expect.stringContaining('timeout') }],
    });
    for (const last of [0, 1, 2, 3]) {
      expect(asked(`${last}.100.51.198.${zone}`)).toBe(1);
    }
  });

  it('looks up only the network address of a wide IPv4 or any IPv6 prefix, and says the check was partial', async () => {
    const zone = zoneName();
    server.a(`0.0.20.10.${zone}`, ['127.0.0.2']);
    const { checker: blocklists } = checker({ address: zone }, { maxAddresses: 256 });

    const report = await blocklists.checkServer({ prefixes: ['10.20.0.0/16', '2001:db8:ab::/48'] });

    expect(report.prefixes).toEqual([
      { prefix: '10.20.0.0/16', checked: 1, total: '65536', partial: true },
      { prefix: '2001:db8:ab::/48', checked: 1, total: '2^80', partial: true },
    ]);
    expect(report.listed).toEqual([{ subject: '10.20.0.0', zone, query: `0.0.20.10.${zone}`, answers: ['127.0.0.2'] }]);
    expect(asked(`1.0.20.10.${zone}`)).toBe(0);
  });

  it('stops at the check’s deadline: what was not answered by then is unknown, and the rest is never sent', async () => {
    const zone = zoneName();
    for (const last of [0, 1, 2, 3]) {
      server.timeout(`${last}.113.0.203.${zone}`);
    }
    const { checker: blocklists } = checker({ address: zone }, { concurrency: 1 });
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error('EDEADLINE: deadline exceeded')), 450);

    const report = await blocklists.checkServer({ prefixes: ['203.0.113.0/30'] }, { signal: deadline.signal });
    clearTimeout(timer);

    expect(report.listed).toEqual([]);
    expect(report.unknown.map((item) => item.subject)).toEqual(['203.0.113.0', '203.0.113.1', '203.0.113.2', '203.0.113.3']);
    expect(report.unknown.at(-1)?.reason).toContain('deadline exceeded');
    // One lookup at a time, 300 ms each: the deadline leaves the last ones unsent.
    const sent = [0, 1, 2, 3].map((last) => asked(`${last}.113.0.203.${zone}`));
    expect(sent.slice(0, 1)).toEqual([1]);
    expect(sent.slice(2)).toEqual([0, 0]);
  });

  it('looks nothing up when no zone is configured', async () => {
    const before = server.queries.length;
    const { checker: blocklists } = checker({});

    expect(blocklists.enabled).toBe(false);
    expect(await blocklists.checkServer({ prefixes: ['192.0.2.0/24'], heloHostname: 'mail.example.com' })).toMatchObject({
      listed: [],
      unknown: [],
    });
    expect(server.queries.length).toBe(before);
  });
});

describe('DnsClient.aWithTtl', () => {
  it('returns each address with the TTL the server gave it', async () => {
    const name = `${randomUUID().slice(0, 8)}.example.com`;
    server.a(name, ['192.0.2.1'], 1234);
    const dns = new DnsClient({ resolvers: [server.address], timeoutMs: 300, tries: 1 });

    expect(await dns.aWithTtl(name)).toEqual({ status: 'ok', resolver: server.address, records: [{ address: '192.0.2.1', ttl: 1234 }] });
  });
});
