import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@app/domain';
import { DomainsService } from '@app/ownership';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { auditTrail, bearer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

const HOUR = 3_600_000;

describe('domains: TXT challenges', () => {
  let dns: TestDnsServer;
  let t: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => ({ t, dns } = await startAppOnTestDns({}, clock)));
  afterAll(() => stopAppOnTestDns(t, dns));

  const domainName = () => `${unique('cust')}.example.com`;

  async function addDomain(name = domainName(), organizationId?: string) {
    const org = organizationId ?? (await createOrganization(t)).id;
    const response = await t.http
      .post(`/v1/organizations/${org}/domains`)
      .set(bearer(t.keys.csr))
      .send({ name })
      .expect(201);
    return response.body as {
      id: string;
      organizationId: string;
      name: string;
      status: string;
      challenge: { recordName: string; recordType: string; recordValue: string; expiresAt: string };
    };
  }

  const verify = (id: string) => t.http.post(`/v1/domains/${id}/verify`).set(bearer(t.keys.csr));

  it('issues a challenge bound to the domain: record name, TXT type, a long random value, an expiry', async () => {
    const name = domainName();
    const created = await addDomain(name.toUpperCase() + '.');
    expect(created.name).toBe(name);
    expect(created.status).toBe('pending');
    expect(created.challenge.recordName).toBe(`_mailmax-challenge.${name}`);
    expect(created.challenge.recordType).toBe('TXT');
    const token = /^mailmax-verification=([0-9a-f]+)$/.exec(created.challenge.recordValue)?.[1];
    expect(token).toBeDefined();
    expect(token!.length * 4).toBeGreaterThanOrEqual(128);
    const other = await addDomain();
    expect(other.challenge.recordValue).not.toBe(created.challenge.recordValue);
    expect(new Date(created.challenge.expiresAt).getTime() - clock.now().getTime()).toBe(7 * 24 * HOUR);
    const [event] = await auditTrail(t, created.id);
    expect(event).toMatchObject({ action: 'domain.created', organizationId: created.organizationId });
  });

  it('refuses public suffixes (422), bad names (400) and unknown organizations (404)', async () => {
    const org = await createOrganization(t);
    for (const name of ['com', 'co.uk', 'CO.JP.']) {
      const response = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(422);
      expect(response.body.detail).toContain('public suffix');
    }
    for (const name of ['bad..name.example.com', 'has_underscore.example.com', '[192.0.2.1]']) {
      const response = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(400);
      expect(response.body.errors[0].field).toBe('name');
    }
    await t.http
      .post('/v1/organizations/00000000-0000-4000-8000-000000000000/domains')
      .set(bearer(t.keys.csr))
      .send({ name: domainName() })
      .expect(404);
    expect(await t.prisma.domain.count({ where: { organizationId: org.id } })).toBe(0);
  });

  it('refuses names that can never resolve publicly (422 naming why), and writes nothing', async () => {
    const org = await createOrganization(t);
    const refusals: Array<[string, RegExp]> = [
      ['corp.local', /\.local is reserved for multicast DNS/],
      ['exch01.corp.local', /\.local is reserved/],
      ['home.arpa', /home\.arpa is reserved for home networks/],
      ['nas.home.arpa', /home\.arpa/],
      ['exch01', /a single label/],
      ['intranet.corp', /not a top-level domain of the public DNS/],
      ['fileserver.lan', /not a top-level domain/],
      ['db.internal', /\.internal is reserved/],
      ['printer.localhost', /\.localhost/],
    ];
    for (const [name, why] of refusals) {
      const response = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(422);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.detail).toMatch(/^name can never be verified: /);
      expect(response.body.detail).toMatch(why);
      expect(response.body.detail).toContain("Claim the customer's public domain");
    }
    expect(await t.prisma.domain.count({ where: { organizationId: org.id } })).toBe(0);
    expect(await t.prisma.auditEvent.count({ where: { organizationId: org.id, action: 'domain.created' } })).toBe(0);
  });

  it('verifies when the value is in any record of the set, and records what each resolver saw', async () => {
    const domain = await addDomain();
    dns.txt(domain.challenge.recordName, ['v=spf1 -all'], [domain.challenge.recordValue]);
    const response = await verify(domain.id).expect(200);
    expect(response.body.domain.status).toBe('verified');
    expect(response.body.domain.verifiedAt).not.toBeNull();
    expect(response.body.check).toMatchObject({
      outcome: 'match',
      trigger: 'verify',
      statusBefore: 'pending',
      statusAfter: 'verified',
      resolvers: [{ resolver: dns.address, status: 'ok', matched: true, values: ['v=spf1 -all', domain.challenge.recordValue] }],
    });
    const trail = await auditTrail(t, domain.id);
    expect(trail.map((event) => event.action)).toEqual(['domain.created', 'domain.verified']);
    expect(trail[1]!.actor.id).toBe(t.keys.csr.id);
  });

  it('joins a TXT record split into several strings before comparing', async () => {
    const domain = await addDomain();
    const value = domain.challenge.recordValue;
    dns.txt(domain.challenge.recordName, [value.slice(0, 10), value.slice(10, 25), value.slice(25)]);
    expect((await verify(domain.id).expect(200)).body.domain.status).toBe('verified');
  });

  it('follows a CNAME at the challenge name, and ignores the case of names', async () => {
    const domain = await addDomain();
    const target = `${unique('delegated')}.dns-provider.example`;
    dns.cname(domain.challenge.recordName.toUpperCase(), target);
    dns.txt(target, [domain.challenge.recordValue]);
    expect((await verify(domain.id).expect(200)).body.check.outcome).toBe('match');
  });

  it('keeps the domain pending and says why: record absent, or a wrong value (shown)', async () => {
    const domain = await addDomain();
    const absent = await verify(domain.id).expect(200);
    expect(absent.body.domain.status).toBe('pending');
    expect(absent.body.check).toMatchObject({ outcome: 'absent', resolvers: [{ status: 'nxdomain', matched: false }] });
    expect(absent.body.check.detail).toContain('NXDOMAIN');

    dns.txt(domain.challenge.recordName, ['mailmax-verification=0000']);
    clock.advance(1000);
    const wrong = await verify(domain.id).expect(200);
    expect(wrong.body.domain.status).toBe('pending');
    expect(wrong.body.check.outcome).toBe('mismatch');
    expect(wrong.body.check.resolvers[0].values).toEqual(['mailmax-verification=0000']);
    expect(wrong.body.check.detail).toContain('mailmax-verification=0000');

    const attempts = await t.http.get(`/v1/domains/${domain.id}/attempts`).set(bearer(t.keys.auditor)).expect(200);
    expect(attempts.body.items.map((item: { outcome: string }) => item.outcome)).toEqual(['mismatch', 'absent']);
    expect(attempts.body.items[0]).toMatchObject({ recordName: domain.challenge.recordName, trigger: 'verify' });
  });

  it('treats a timeout or SERVFAIL as "cannot tell": pending, retried later, never failed, never a hang', async () => {
    const domain = await addDomain();
    dns.timeout(domain.challenge.recordName);
    const started = Date.now();
    const timedOut = await verify(domain.id).expect(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(timedOut.body.domain.status).toBe('pending');
    expect(timedOut.body.check).toMatchObject({ outcome: 'unreachable', resolvers: [{ status: 'timeout' }] });
    const retryAt = new Date(timedOut.body.domain.nextCheckAt).getTime();
    expect(retryAt).toBeGreaterThan(clock.now().getTime());

    dns.remove(domain.challenge.recordName);
    dns.servfail(domain.challenge.recordName);
    const servfail = await verify(domain.id).expect(200);
    expect(servfail.body.check).toMatchObject({ outcome: 'unreachable', resolvers: [{ status: 'servfail' }] });
    // Backoff: the second retry waits longer than the first.
    expect(new Date(servfail.body.domain.nextCheckAt).getTime() - clock.now().getTime()).toBeGreaterThan(retryAt - clock.now().getTime());
    expect(servfail.body.domain.status).toBe('pending');
  });

  it('a new challenge makes the old value stop counting', async () => {
    const domain = await addDomain();
    const old = domain.challenge.recordValue;
    const reissued = await t.http.post(`/v1/domains/${domain.id}/challenge`).set(bearer(t.keys.csr)).expect(200);
    expect(reissued.body.challenge.recordValue).not.toBe(old);
    dns.txt(domain.challenge.recordName, [old]);
    expect((await verify(domain.id).expect(200)).body.check.outcome).toBe('mismatch');
    dns.txt(domain.challenge.recordName, [reissued.body.challenge.recordValue]);
    expect((await verify(domain.id).expect(200)).body.domain.status).toBe('verified');
    const trail = await auditTrail(t, domain.id);
    expect(trail.map((event) => event.action)).toContain('domain.challenge_issued');
  });

  it('a verified domain belongs to one organization: another one cannot claim it (409)', async () => {
    const domain = await addDomain();
    dns.txt(domain.challenge.recordName, [domain.challenge.recordValue]);
    await verify(domain.id).expect(200);
    const other = await createOrganization(t);
    const refused = await t.http
      .post(`/v1/organizations/${other.id}/domains`)
      .set(bearer(t.keys.csr))
      .send({ name: domain.name })
      .expect(409);
    expect(refused.body.detail).toContain('another organization');
    // Claiming it twice in the same organization is a conflict too.
    await t.http
      .post(`/v1/organizations/${domain.organizationId}/domains`)
      .set(bearer(t.keys.csr))
      .send({ name: domain.name })
      .expect(409);
  });

  it('lapses after N failed re-checks spread over the grace period, and recovers when the record is back', async () => {
    const domains = t.app.get(DomainsService);
    const domain = await addDomain();
    dns.txt(domain.challenge.recordName, [domain.challenge.recordValue]);
    await verify(domain.id).expect(200);
    const worker = { actor: { id: null, name: 'system:worker', role: 'system' as const, owner: null } };
    const start = clock.now().getTime();
    try {
      dns.remove(domain.challenge.recordName);
      // Defaults: 3 failures over at least 72 h.
      const statuses: string[] = [];
      for (const hours of [24, 48, 72]) {
        clock.set(new Date(start + hours * HOUR));
        statuses.push((await domains.check(domain.id, 'recheck', worker)).domain.status);
      }
      // Three failures, but only 48 h since the first: not yet.
      expect(statuses).toEqual(['verified', 'verified', 'verified']);
      // A DNS outage in between counts for nothing.
      dns.timeout(domain.challenge.recordName);
      clock.set(new Date(start + 90 * HOUR));
      expect((await domains.check(domain.id, 'recheck', worker)).check.outcome).toBe('unreachable');
      dns.remove(domain.challenge.recordName);
      clock.set(new Date(start + 96 * HOUR));
      const lapsed = await domains.check(domain.id, 'recheck', worker);
      expect(lapsed.domain.status).toBe('lapsed');

      clock.set(new Date(start + 100 * HOUR));
      dns.txt(domain.challenge.recordName, [domain.challenge.recordValue]);
      const recovered = await domains.check(domain.id, 'recheck', worker);
      expect(recovered.domain.status).toBe('verified');

      const trail = await auditTrail(t, domain.id);
      expect(trail.map((event) => event.action)).toEqual(['domain.created', 'domain.verified', 'domain.failing', 'domain.lapsed', 'domain.recovered']);
      expect(trail[3]).toMatchObject({ actor: { name: 'system:worker', role: 'system', id: null }, before: { status: 'verified' }, after: { status: 'lapsed' } });
    } finally {
      clock.set(new Date(start));
    }
  });

  it('fails a pending domain when its challenge expires; a new challenge revives it', async () => {
    const domains = t.app.get(DomainsService);
    const domain = await addDomain();
    const start = clock.now().getTime();
    try {
      clock.set(new Date(start + 7 * 24 * HOUR));
      const expired = await domains.check(domain.id, 'retry', { actor: { id: null, name: 'system:worker', role: 'system', owner: null } });
      expect(expired.domain.status).toBe('failed');
      expect(expired.check.outcome).toBe('expired');
      const refused = await verify(domain.id).expect(422);
      expect(refused.body.detail).toContain('new one');
      const revived = await t.http.post(`/v1/domains/${domain.id}/challenge`).set(bearer(t.keys.csr)).expect(200);
      expect(revived.body.status).toBe('pending');
      expect(new Date(revived.body.challenge.expiresAt).getTime()).toBe(start + 14 * 24 * HOUR);
    } finally {
      clock.set(new Date(start));
    }
  });

  it('lists an organization\'s domains and answers 404 for unknown ones', async () => {
    const org = await createOrganization(t);
    const a = await addDomain(domainName(), org.id);
    const b = await addDomain(domainName(), org.id);
    const listed = await t.http.get(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.auditor)).expect(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([b.id, a.id]);
    const one = await t.http.get(`/v1/domains/${a.id}`).set(bearer(t.keys.csr)).expect(200);
    expect(one.headers.etag).toBe('"1"');
    await t.http.get('/v1/domains/00000000-0000-4000-8000-000000000000').set(bearer(t.keys.csr)).expect(404);
  });
});

describe('domains: several resolvers must agree', () => {
  let first: TestDnsServer;
  let second: TestDnsServer;
  let t: TestApp;

  beforeAll(async () => {
    first = await startTestDnsServer();
    second = await startTestDnsServer();
    t = await startTestApp({ DNS_RESOLVERS: `${first.address},${second.address}`, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
  });
  afterAll(async () => {
    await t?.close();
    await first?.stop();
    await second?.stop();
  });

  it('does not verify while the resolvers disagree, and does once they agree; a silent one does not count', async () => {
    const org = await createOrganization(t);
    const name = `${unique('two')}.example.com`;
    const created = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201);
    const { recordName, recordValue } = created.body.challenge;
    first.txt(recordName, [recordValue]);
    second.txt(recordName, ['mailmax-verification=stale']);
    const split = await t.http.post(`/v1/domains/${created.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    expect(split.body.domain.status).toBe('pending');
    expect(split.body.check.outcome).toBe('disagreement');
    expect(split.body.check.resolvers.map((r: { matched: boolean }) => r.matched)).toEqual([true, false]);

    second.remove(recordName);
    second.timeout(recordName);
    const oneSilent = await t.http.post(`/v1/domains/${created.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    expect(oneSilent.body.check.resolvers.map((r: { status: string }) => r.status)).toEqual(['ok', 'timeout']);
    expect(oneSilent.body.domain.status).toBe('verified');
  });
});
