import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { getServers } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsClient, parseResolverList } from '../libs/dns/src/dns-client.js';
import type { DnsOutcome } from '../libs/dns/src/types.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';

// DnsClient against DNS servers on 127.0.0.1, over real UDP through c-ares.
let primary: TestDnsServer;
let secondary: TestDnsServer;
/** Answers a CNAME alone, as an authoritative server does for a target outside its zone. */
let authoritative: TestDnsServer;

beforeAll(async () => {
  [primary, secondary, authoritative] = await Promise.all([startTestDnsServer(), startTestDnsServer(), startTestDnsServer()]);
  authoritative.chaseCnames = false;
});

afterAll(async () => {
  await Promise.all([primary?.stop(), secondary?.stop(), authoritative?.stop()]);
});

const TIMEOUT_MS = 300;
/** Generous for a 300 ms × 1 try budget on a loaded CI machine, far below c-ares' defaults (5 s × 4). */
const BOUND_MS = 2_000;

/** A fresh domain per test, so tests share no records. */
function domain(): string {
  return `${randomUUID().slice(0, 8)}.example.com`;
}

function client(resolvers: string[] = [primary.address], tries = 1): DnsClient {
  return new DnsClient({ resolvers, timeoutMs: TIMEOUT_MS, tries });
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const started = performance.now();
  const result = await run();
  return { result, elapsedMs: performance.now() - started };
}

function values(outcome: DnsOutcome<string>): string[] {
  expect(outcome.status).toBe('ok');
  return outcome.status === 'ok' ? [...outcome.records].sort() : [];
}

/** A UDP port on 127.0.0.1 where nothing listens (bound, noted, released). */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

describe('TXT', () => {
  it('returns a single record, naming the resolver that answered', async () => {
    const name = `_mailmax-challenge.${domain()}`;
    primary.txt(name, ['mailmax-verification=abc']);

    expect(await client().txt(name)).toEqual({ status: 'ok', resolver: primary.address, records: ['mailmax-verification=abc'] });
  });

  it('returns every record of the set', async () => {
    const name = domain();
    primary.txt(name, ['v=spf1 -all'], ['mailmax-verification=one'], ['google-site-verification=x']);

    expect(values(await client().txt(name))).toEqual(['google-site-verification=x', 'mailmax-verification=one', 'v=spf1 -all']);
  });

  it('joins the strings of a multi-string record without separators (RFC 7208 §3.3)', async () => {
    const name = domain();
    const long = 'a'.repeat(255);
    primary.txt(name, ['v=spf1 ip4:192.0.2.0/24 ', 'include:_spf.example.net ', '-all'], [long, long, 'end']);

    expect(values(await client().txt(name))).toEqual([`${long}${long}end`, 'v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all']);
  });

  it('receives a record set too large for a UDP answer (c-ares asks again over TCP)', async () => {
    const name = domain();
    const chunk = 'b'.repeat(255);
    primary.txt(name, ...Array.from({ length: 6 }, (_, index) => [`${index}`, chunk]));

    expect(values(await client().txt(name))).toEqual(Array.from({ length: 6 }, (_, index) => `${index}${chunk}`));
    // c-ares sends no EDNS OPT, so the 512-octet UDP limit applies: TC set, the same question again over TCP.
    expect(primary.queries.filter((query) => query.name === name)).toHaveLength(2);
  });

  it('ignores the case of the name and a trailing dot', async () => {
    const name = `_mailmax-challenge.${domain()}`;
    primary.txt(name.toUpperCase(), ['mailmax-verification=upper']);

    expect(values(await client().txt(`${name.replace('example', 'EXAMPLE')}.`))).toEqual(['mailmax-verification=upper']);
    expect(values(await client().txt(name))).toEqual(['mailmax-verification=upper']);
  });

  it('follows a CNAME chased by the server in the same answer', async () => {
    const name = `_mailmax-challenge.${domain()}`;
    const target = `target.${domain()}`;
    primary.cname(name, `middle.${target}`);
    primary.cname(`middle.${target}`, target);
    primary.txt(target, ['mailmax-verification=via-alias']);

    expect(await client().txt(name)).toEqual({ status: 'ok', resolver: primary.address, records: ['mailmax-verification=via-alias'] });
    // c-ares handed back the target's TXT from the one answer: no CNAME question was needed.
    expect(primary.queries.filter((query) => query.name === name)).toEqual([{ name, type: 'TXT' }]);
  });

  it('follows a CNAME the server answers alone, hop by hop (RFC 1034 §3.6.2)', async () => {
    const name = `_mailmax-challenge.${domain()}`;
    const target = `target.${domain()}`;
    authoritative.cname(name, `middle.${target}`);
    authoritative.cname(`middle.${target}`, target);
    authoritative.txt(target, ['mailmax-verification=', 'hop-by-hop']);

    expect(await client([authoritative.address]).txt(name)).toEqual({
      status: 'ok',
      resolver: authoritative.address,
      records: ['mailmax-verification=hop-by-hop'],
    });
    expect(authoritative.queries.filter((query) => query.name === name).map((query) => query.type)).toEqual(['TXT', 'CNAME']);
  });

  it('follows at most 8 CNAMEs and reports a loop, without calling either "no record"', async () => {
    const base = domain();
    const hop = (index: number) => `hop${index}.${base}`;
    for (let index = 0; index < 9; index++) {
      authoritative.cname(hop(index), hop(index + 1));
    }
    authoritative.txt(hop(9), ['at-the-end']);
    authoritative.txt(hop(8), ['eight-hops-away']);
    authoritative.remove(hop(8), 'CNAME');
    const dns = client([authoritative.address]);

    expect(values(await dns.txt(hop(0)))).toEqual(['eight-hops-away']);
    authoritative.cname(hop(8), hop(9));
    authoritative.remove(hop(8), 'TXT');
    expect(await dns.txt(hop(0))).toMatchObject({ status: 'error', error: expect.stringContaining('longer than 8') });

    const loop = domain();
    authoritative.cname(`a.${loop}`, `b.${loop}`);
    authoritative.cname(`b.${loop}`, `A.${loop}`);
    expect(await dns.txt(`a.${loop}`)).toMatchObject({ status: 'error', error: expect.stringContaining('ECNAMELOOP') });
    // The chasing server stops at the loop itself; the client still sees it.
    primary.cname(`a.${loop}`, `b.${loop}`);
    primary.cname(`b.${loop}`, `a.${loop}`);
    expect(await client().txt(`a.${loop}`)).toMatchObject({ status: 'error', error: expect.stringContaining('ECNAMELOOP') });
  });

  it('reports the target not existing behind a CNAME as NXDOMAIN, through either kind of server', async () => {
    const name = domain();
    primary.cname(name, `gone.${domain()}`);
    authoritative.cname(name, `gone.${domain()}`);

    expect(await client().txt(name)).toEqual({ status: 'nxdomain', resolver: primary.address });
    expect(await client([authoritative.address]).txt(name)).toEqual({ status: 'nxdomain', resolver: authoritative.address });
  });
});

describe('outcomes that are not records', () => {
  it('tells NXDOMAIN from NODATA', async () => {
    const name = domain();
    primary.a(name, ['192.0.2.1']);

    expect(await client().txt(`missing.${name}`)).toEqual({ status: 'nxdomain', resolver: primary.address });
    expect(await client().txt(name)).toEqual({ status: 'nodata', resolver: primary.address });
    expect(await client().aaaa(name)).toEqual({ status: 'nodata', resolver: primary.address });
  });

  it('reports SERVFAIL as a failure, not an answer', async () => {
    const name = domain();
    primary.servfail(name);

    expect(await client().txt(name)).toEqual({ status: 'servfail', resolver: primary.address, error: 'ESERVFAIL' });
  });

  it('reports a server that never answers as a timeout, within the time bound', async () => {
    const name = domain();
    primary.timeout(name);

    const { result, elapsedMs } = await timed(() => client().txt(name));
    expect(result).toMatchObject({ status: 'timeout', resolver: primary.address });
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsedMs).toBeLessThan(BOUND_MS);
  });

  it('keeps several tries within timeoutMs × tries, although c-ares backs off between them', async () => {
    const name = domain();
    primary.timeout(name);

    const { result, elapsedMs } = await timed(() => client([primary.address], 3).txt(name));
    expect(result).toMatchObject({ status: 'timeout' });
    expect(elapsedMs).toBeLessThan(3 * TIMEOUT_MS + 400);
    expect(primary.queries.filter((query) => query.name === name).length).toBeGreaterThanOrEqual(2);
  });

  it('reports a resolver where nothing listens as not answered, within the time bound', async () => {
    const port = await freeUdpPort();
    const dns = client([`127.0.0.1:${port}`], 2);

    const { result, elapsedMs } = await timed(() => dns.txt(domain()));
    expect(result).toMatchObject({ status: 'timeout', resolver: `127.0.0.1:${port}` });
    expect(elapsedMs).toBeLessThan(BOUND_MS);
    const each = await dns.txtFromEach(domain());
    expect(each).toEqual([expect.objectContaining({ status: 'timeout' })]);
  });

  it('refuses an address that is not one for PTR, and an empty name, without asking', async () => {
    expect(await client().ptr('mail.example.com')).toMatchObject({ status: 'error', error: expect.stringContaining('not an IP address') });
    expect(await client().txt('.')).toMatchObject({ status: 'error' });
  });
});

describe('A, AAAA, MX and PTR', () => {
  it('returns addresses', async () => {
    const name = domain();
    primary.a(name, ['192.0.2.1', '192.0.2.2']);
    primary.aaaa(name, ['2001:db8::1', '2001:db8:0:0:1::25']);

    expect(values(await client().a(name.toUpperCase()))).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(values(await client().aaaa(name))).toEqual(['2001:db8::1', '2001:db8::1:0:0:25']);
  });

  it('follows a CNAME for addresses too', async () => {
    const name = domain();
    const target = domain();
    authoritative.cname(name, target);
    authoritative.a(target, ['192.0.2.80']);

    expect(values(await client([authoritative.address]).a(name))).toEqual(['192.0.2.80']);
  });

  it('returns MX exchanges lowercase, without the trailing dot', async () => {
    const name = domain();
    primary.mx(name, [
      { exchange: 'MX1.Example.NET.', priority: 10 },
      { exchange: 'mx2.example.net', priority: 20 },
    ]);

    const outcome = await client().mx(name);
    expect(outcome).toMatchObject({ status: 'ok', resolver: primary.address });
    expect(outcome.status === 'ok' ? [...outcome.records].sort((a, b) => a.priority - b.priority) : []).toEqual([
      { exchange: 'mx1.example.net', priority: 10 },
      { exchange: 'mx2.example.net', priority: 20 },
    ]);
  });

  it('returns PTR names for IPv4, IPv6 and IPv4-mapped addresses, lowercase without the trailing dot', async () => {
    primary.ptr('192.0.2.25', ['Mail.Example.COM.']);
    primary.ptr('2001:db8::25', ['mail6.example.com', 'smtp.example.com']);

    expect(values(await client().ptr('192.0.2.25'))).toEqual(['mail.example.com']);
    expect(values(await client().ptr('::ffff:192.0.2.25'))).toEqual(['mail.example.com']);
    expect(values(await client().ptr('2001:DB8:0::25'))).toEqual(['mail6.example.com', 'smtp.example.com']);
    // RFC 3596 §2.5: every nibble of the address, least significant first.
    expect(primary.queries).toContainEqual({ name: `5.2.${'0.'.repeat(22)}8.b.d.0.1.0.0.2.ip6.arpa`, type: 'PTR' });
    expect(await client().ptr('192.0.2.26')).toEqual({ status: 'nxdomain', resolver: primary.address });
  });
});

describe('several resolvers', () => {
  it('takes the first that answers: the first times out, the second answers', async () => {
    const name = `_mailmax-challenge.${domain()}`;
    primary.timeout(name);
    secondary.txt(name, ['mailmax-verification=second']);

    const { result, elapsedMs } = await timed(() => client([primary.address, secondary.address]).txt(name));
    expect(result).toEqual({ status: 'ok', resolver: secondary.address, records: ['mailmax-verification=second'] });
    expect(elapsedMs).toBeLessThan(BOUND_MS);
  });

  it('lets the first answer decide, even "no such name", and asks no further', async () => {
    const name = domain();
    secondary.txt(name, ['only-on-second']);

    expect(await client([primary.address, secondary.address]).txt(name)).toEqual({ status: 'nxdomain', resolver: primary.address });
    expect(secondary.queries.some((query) => query.name === name)).toBe(false);
  });

  it('returns the last failure when none answers', async () => {
    const name = domain();
    primary.timeout(name);
    secondary.servfail(name);

    expect(await client([primary.address, secondary.address]).txt(name)).toEqual({
      status: 'servfail',
      resolver: secondary.address,
      error: 'ESERVFAIL',
    });
  });

  it('txtFromEach gives one outcome per resolver, in order, disagreements included', async () => {
    const name = `_mailmax-challenge.${domain()}`;
    primary.txt(name, ['mailmax-verification=', 'abc']);
    secondary.txt(name, ['mailmax-verification=stale']);
    const silent = domain();
    primary.txt(silent, ['here']);
    secondary.timeout(silent);
    const dns = client([primary.address, secondary.address]);

    expect(dns.resolvers).toEqual([primary.address, secondary.address]);
    expect(await dns.txtFromEach(name.toUpperCase())).toEqual([
      { status: 'ok', resolver: primary.address, records: ['mailmax-verification=abc'] },
      { status: 'ok', resolver: secondary.address, records: ['mailmax-verification=stale'] },
    ]);
    const { result, elapsedMs } = await timed(() => dns.txtFromEach(silent));
    expect(result).toEqual([
      { status: 'ok', resolver: primary.address, records: ['here'] },
      expect.objectContaining({ status: 'timeout', resolver: secondary.address }),
    ]);
    expect(elapsedMs).toBeLessThan(BOUND_MS);
  });

  it('looks up a resolver given by host name', async () => {
    const name = domain();
    primary.txt(name, ['by-name']);
    const resolver = `localhost:${primary.port}`;

    expect(await client([resolver]).txt(name)).toEqual({ status: 'ok', resolver, records: ['by-name'] });
  });

  it('names the system resolvers by address and port when none is configured, one each', () => {
    // What resolv.conf names, as Node reads it: `192.0.2.53`, `127.0.0.1:5353`, `[::1]:5353`, `::1`.
    const expected = getServers().map((server) => {
      if (server.startsWith('[') || /^[\d.]+:\d+$/.test(server)) {
        return server;
      }
      return server.includes(':') ? `[${server}]:53` : `${server}:53`;
    });
    expect(expected.length).toBeGreaterThan(0);
    expect(new DnsClient({ resolvers: [], timeoutMs: 1000, tries: 2 }).resolvers).toEqual(expected);
  });

  it('names configured resolvers address:port, port 53 written out', () => {
    expect(client(['192.0.2.53', '2001:db8::53', '[2001:db8::54]:5353', 'resolver.example.com', `127.0.0.1:${primary.port}`]).resolvers).toEqual([
      '192.0.2.53:53',
      '[2001:db8::53]:53',
      '[2001:db8::54]:5353',
      'resolver.example.com:53',
      primary.address,
    ]);
  });

  it('asks one resolver alone for A records (the canary check), and names an unknown one', async () => {
    const name = domain();
    secondary.a(name, ['192.0.2.80']);
    const dns = client([primary.address, secondary.address]);
    expect(await dns.aFrom(secondary.address, name)).toEqual({ status: 'ok', resolver: secondary.address, records: ['192.0.2.80'] });
    expect(await dns.aFrom(primary.address, name)).toEqual({ status: 'nxdomain', resolver: primary.address });
    expect(await dns.aFrom('192.0.2.99:53', name)).toMatchObject({ status: 'error', resolver: '192.0.2.99:53', error: expect.stringMatching(/^EUNKNOWNRESOLVER/) });
  });
});

describe('parseResolverList', () => {
  it('accepts hosts, addresses and ports', () => {
    expect(parseResolverList('')).toEqual([]);
    expect(parseResolverList('  ')).toEqual([]);
    expect(parseResolverList('192.0.2.53')).toEqual(['192.0.2.53']);
    expect(parseResolverList(' 127.0.0.1:5353 , [2001:db8::53]:53,2001:db8::54 ')).toEqual([
      '127.0.0.1:5353',
      '[2001:db8::53]:53',
      '2001:db8::54',
    ]);
    expect(parseResolverList('unbound,dns.example.net:53,dns_cache:1053')).toEqual(['unbound', 'dns.example.net:53', 'dns_cache:1053']);
  });

  it.each([
    ['192.0.2.1:0', '192.0.2.1:0'],
    ['192.0.2.1:65536', '192.0.2.1:65536'],
    ['192.0.2.1:dns', '192.0.2.1:dns'],
    ['300.0.2.1', '300.0.2.1'],
    ['192.0.2.1,,192.0.2.2', 'empty entry'],
    ['[dns.example]:53', '[dns.example]:53'],
    ['[2001:db8::1]:', '[2001:db8::1]:'],
    ['2001:db8::zz', '2001:db8::zz'],
    ['dns example', 'dns example'],
    ['-dns.example', '-dns.example'],
    ['192.0.2.1, https://dns.example/', 'https://dns.example/'],
  ])('refuses %j, naming the bad entry', (text, named) => {
    expect(() => parseResolverList(text)).toThrow(named);
  });
});

describe('the test DNS server', () => {
  it('survives malformed packets', async () => {
    const name = domain();
    primary.txt(name, ['still-here']);
    const socket = dgram.createSocket('udp4');
    const garbage = [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(12, 0xff), Buffer.from('0001010000010000000000000377', 'hex')];
    for (const packet of garbage) {
      await new Promise<void>((resolve) => socket.send(packet, primary.port, '127.0.0.1', () => resolve()));
    }
    socket.close();

    expect(values(await client().txt(name))).toEqual(['still-here']);
  });
});
