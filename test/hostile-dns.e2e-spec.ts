import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reverseName, startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { bearer, createMailServer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

/**
 * DESIGN.md, Ownership §7: customer DNS data can slow nothing but its own
 * check. The real API app, with its DNS pointed at the test DNS server, runs
 * ownership checks, a challenge look and a diagnosis over hostile records,
 * while a mail filter polls the feed from the same process: every poll must
 * answer, and every check must end within its deadline with a clear reason.
 */
const DEADLINE_MS = 1500;
/** Generous for a loaded machine; well below what the hostile checks cost without their bounds. */
const SLACK_MS = 2500;

describe('hostile DNS', () => {
  let dns: TestDnsServer;
  /** A second resolver that takes every question and answers none, as a dead server behind a firewall does. */
  let blackHole: dgram.Socket;
  let t: TestApp;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    blackHole = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    // A question the test server leaves unanswered then waits for both resolvers (up to 1 s each);
    // the whole check may take 1.5 s.
    t = await startTestApp({
      DNS_RESOLVERS: `${dns.address},127.0.0.1:${(blackHole.address() as AddressInfo).port}`,
      DNS_TIMEOUT_MS: '1000',
      DNS_TRIES: '1',
      DNS_CHECK_DEADLINE_MS: String(DEADLINE_MS),
    });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
    blackHole?.close();
  });

  /**
   * Runs `work` while polling the postfix-cidr feed as a mail filter does
   * (with If-None-Match), from the same process and event loop as the check.
   */
  async function whilePollingFeed<T>(work: () => PromiseLike<T>): Promise<{ result: T; elapsedMs: number; polls: number[] }> {
    const polls: number[] = [];
    let done = false;
    const started = performance.now();
    const running = Promise.resolve(work()).finally(() => {
      done = true;
    });
    let elapsedMs = 0;
    void running.then(() => (elapsedMs = performance.now() - started), () => undefined);
    let etag: string | undefined;
    do {
      const request = t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter));
      if (etag !== undefined) {
        request.set('if-none-match', etag);
      }
      const response = await request;
      polls.push(response.status);
      etag = (response.headers.etag as string | undefined) ?? etag;
      await new Promise((resolve) => setTimeout(resolve, 20));
    } while (!done);
    return { result: await running, elapsedMs, polls };
  }

  /** Domains verified through their challenges (together: each look waits for the black hole). */
  function verifiedDomains(organizationId: string, count: number, label: string): Promise<string[]> {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const name = `${unique(label)}.example.com`;
        const created = await t.http.post(`/v1/organizations/${organizationId}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201);
        dns.txt(created.body.challenge.recordName, [created.body.challenge.recordValue]);
        const verified = await t.http.post(`/v1/domains/${created.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
        expect(verified.body.domain.status).toBe('verified');
        return name;
      }),
    );
  }

  const check = (mailServerId: string) => t.http.post(`/v1/mail-servers/${mailServerId}/ownership/check`).set(bearer(t.keys.csr));

  it('refuses a 60 KB SPF record, a 20 000-character label, deep and looping includes, each with its reason, while the feed answers', async () => {
    const org = await createOrganization(t);
    const [big, long, label, deep, loop] = await verifiedDomains(org.id, 5, 'hostile');
    // 60 KB, ending in the 60 000-character top-level label that made the former toplabel pattern backtrack for seconds.
    const bigRecord = `v=spf1 ip4:192.0.2.1 a:x.${'b'.repeat(60_000)}_ -all`;
    dns.txtText(big!, bigRecord);
    const longRecord = `v=spf1 include:${'a'.repeat(20_000)}.example -all`;
    dns.txtText(long!, longRecord);
    // Within the record cap: the label check refuses it, before any query.
    const overLabel = 'c'.repeat(1500);
    dns.txtText(label!, `v=spf1 include:${overLabel}.${label} -all`);
    for (let i = 0; i < 30; i++) {
      dns.txt(`d${i}.${deep}`, [`v=spf1 include:d${i + 1}.${deep} -all`]);
    }
    dns.txt(deep!, [`v=spf1 include:d0.${deep} -all`]);
    dns.txt(loop!, [`v=spf1 include:a.${loop} -all`]);
    dns.txt(`a.${loop}`, [`v=spf1 include:b.${loop} -all`]);
    dns.txt(`b.${loop}`, [`v=spf1 include:a.${loop} -all`]);
    const server = await createMailServer(t, org.id, { heloHostname: `mx.${unique('h')}.corp.example`, addresses: ['198.51.100.77', '198.51.100.78'] });

    const { result, elapsedMs, polls } = await whilePollingFeed(() => check(server.id));
    expect(result.status).toBe(200);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.filter((status) => status !== 200 && status !== 304)).toEqual([]);

    const evidence = result.body;
    expect(evidence).toMatchObject({ addressesProven: false, dnsCheck: { deadlineMs: DEADLINE_MS, deadlineExceeded: null } });
    const reason: string = evidence.addressEvidence[0].reason;
    expect(reason).toContain(
      `SPF of ${big}: permerror (the SPF record of ${big} is too long: it is ${bigRecord.length} characters long, more than the 2048 HeloPass evaluates`,
    );
    expect(reason).toContain(`SPF of ${long}: permerror (the SPF record of ${long} is too long: it is ${longRecord.length} characters long`);
    expect(reason).toContain(`names a label of 1500 characters, more than the 63 a label may have`);
    expect(reason).toContain(`SPF of ${deep}: permerror (DNS lookup limit exceeded: the policy needs more than 10 DNS lookups`);
    expect(reason).toContain(`SPF of ${loop}: permerror (include/redirect loop: a.${loop} → b.${loop} → a.${loop}`);
    // The second address got the same answers from the check's memo: each question was sent once.
    expect(evidence.addressEvidence[1].reason).toBe(reason);
    const txtQueries = (name: string) => dns.queries.filter((query) => query.type === 'TXT' && query.name.toLowerCase() === name).length;
    expect([txtQueries(loop!), txtQueries(`a.${loop}`), txtQueries(`b.${loop}`), txtQueries(`d0.${deep}`)]).toEqual([1, 1, 1, 1]);
    // No query for a name with an over-long label ever left the process.
    expect(dns.queries.filter((query) => query.name.includes('a'.repeat(64)) || query.name.includes('c'.repeat(64)))).toEqual([]);
    // The deep chain stopped at the lookup limit: ten includes asked (d0 … d9), d10 never.
    const chain = dns.queries.filter((query) => query.type === 'TXT' && query.name.toLowerCase().endsWith(`.${deep}`) && /^d\d+\./.test(query.name));
    expect(chain.map((query) => query.name.toLowerCase())).toEqual(Array.from({ length: 10 }, (_, i) => `d${i}.${deep}`));
  });

  it('ends a check whose DNS does not answer at its deadline, as "could not tell", while the feed answers', async () => {
    const org = await createOrganization(t);
    const [slow] = await verifiedDomains(org.id, 1, 'slow');
    dns.timeout(slow!);
    const addresses = ['198.51.100.101', '198.51.100.102', '198.51.100.103', '198.51.100.104', '198.51.100.105', '198.51.100.106'];
    for (const address of addresses) {
      dns.timeout(reverseName(address));
    }
    const server = await createMailServer(t, org.id, { heloHostname: `mx.${slow}`, addresses });

    // Without the deadline: six unanswered PTR questions and the SPF record, up to two seconds each.
    const { result, elapsedMs, polls } = await whilePollingFeed(() => check(server.id));
    expect(result.status).toBe(200);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect(polls.length).toBeGreaterThan(3);
    expect(polls.filter((status) => status !== 200 && status !== 304)).toEqual([]);

    const evidence = result.body;
    expect(evidence.dnsCheck.deadlineExceeded).toMatch(/^deadline exceeded after \d+ lookups?: the DNS check may take at most 1500 ms$/);
    expect(evidence).toMatchObject({ heloProven: true, addressesProven: false, verified: false });
    const last = evidence.addressEvidence.at(-1);
    expect(last).toMatchObject({ address: '198.51.100.106/32', proven: false });
    expect(last.reason).toBe(`could not tell: ${evidence.dnsCheck.deadlineExceeded}; check again later`);
    expect(evidence.addressEvidence[0].reason).toMatch(/^could not tell: deadline exceeded after \d+ lookups?.*; seen before that: PTR lookup failed at 127\.0\.0\.1:\d+ \(timeout\)/);
    expect(t.logs.text).toContain('ownership check ran out of its DNS deadline');
  });

  it('ends a diagnosis at its deadline, telling a DNS failure from "no record", while the feed answers', async () => {
    const helo = `mx.${unique('silent')}.example`;
    dns.timeout(helo);
    dns.timeout(reverseName('198.51.100.120'));
    // A, AAAA and MX (asked together) wait for both resolvers, then the PTR would wait as long again.
    const { result, elapsedMs, polls } = await whilePollingFeed(() =>
      t.http.get('/v1/diagnostics/helo').query({ helo, ip: '198.51.100.120' }).set(bearer(t.keys.csr)),
    );
    expect(result.status).toBe(200);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect(polls.filter((status) => status !== 200 && status !== 304)).toEqual([]);
    expect(result.body.postfix.rejected).toBeNull();
    expect(result.body.client.ptr).toMatchObject({ status: 'timeout', error: expect.stringMatching(/^EDEADLINE: deadline exceeded after [34] lookups/) });
  });

  it('reads no more than the cap of a 60 KB record set at a challenge name: an answer that does not match, kept small', async () => {
    const org = await createOrganization(t);
    const name = `${unique('junk')}.example.com`;
    const created = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201);
    dns.txt(created.body.challenge.recordName, [created.body.challenge.recordValue]);
    dns.txtText(created.body.challenge.recordName, 'x'.repeat(60_000));
    const { result, polls } = await whilePollingFeed(() => t.http.post(`/v1/domains/${created.body.id}/verify`).set(bearer(t.keys.csr)));
    expect(result.status).toBe(200);
    expect(polls.filter((status) => status !== 200 && status !== 304)).toEqual([]);
    expect(result.body.domain.status).toBe('pending');
    // The test server answered (and was not read); the black hole did not, which does not count.
    expect(result.body.check).toMatchObject({
      outcome: 'mismatch',
      resolvers: [
        { resolver: dns.address, status: 'ok', values: [], matched: false },
        { status: 'timeout', values: [] },
      ],
    });
    expect(result.body.check.detail).toMatch(/^the TXT records at the name total 60\d{3} characters, more than the 4096 HeloPass reads/);
  });
});
