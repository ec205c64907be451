import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@app/domain';
import { DomainsService } from '@app/ownership';
import { CANARY_NAME, type TestDnsServer } from './support/dns-server.js';
import { auditTrail, bearer, createOrganization, unique, type TestApp } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

const HOUR = 3_600_000;
const WORKER = { actor: { id: null, name: 'system:worker', role: 'system' as const, owner: null } };
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Our own resolver goes bad (as on a machine whose resolver answers NXDOMAIN
 * for every name): challenge looks must say so, naming it, and never hold it
 * against the customer.
 */
describe('domains: a resolver that answers NXDOMAIN for everything', () => {
  let dns: TestDnsServer;
  let t: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => ({ t, dns } = await startAppOnTestDns({}, clock)));
  afterAll(() => stopAppOnTestDns(t, dns));

  async function addDomain(organizationId: string) {
    const name = `${unique('cust')}.example.com`;
    const response = await t.http.post(`/v1/organizations/${organizationId}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201);
    return response.body as { id: string; challenge: { recordName: string; recordValue: string } };
  }

  it('says "cannot tell: our resolver looks broken", naming it; the pending domain stays pending, the verified one verified', async () => {
    const domains = t.app.get(DomainsService);
    const org = await createOrganization(t);
    const pending = await addDomain(org.id);
    const verified = await addDomain(org.id);
    dns.txt(verified.challenge.recordName, [verified.challenge.recordValue]);
    const first = await t.http.post(`/v1/domains/${verified.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    expect(first.body.domain.status).toBe('verified');
    expect(first.body.check.detail).toBe(`the TXT record holds the expected value (1 resolver(s) agree: ${dns.address})`);

    // From here on the resolver finds nothing, not even the canary.
    dns.remove(CANARY_NAME);
    dns.remove(verified.challenge.recordName);
    const canaryQueries = () => dns.queries.filter((query) => query.name.toLowerCase() === CANARY_NAME).length;
    const before = canaryQueries();

    const look = await t.http.post(`/v1/domains/${pending.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    expect(look.body.domain.status).toBe('pending');
    expect(look.body.check.outcome).toBe('unreachable');
    expect(look.body.check.detail).toMatch(
      new RegExp(
        `^cannot tell: our resolver ${escape(dns.address)} \\(it answered NXDOMAIN for the canary ${escape(CANARY_NAME)}, a name that always exists\\) looks broken, so its "no such name" says nothing about the customer's DNS; the record was not judged, will retry$`,
      ),
    );
    expect(look.body.check.detail).not.toContain('not published');
    expect(look.body.check.resolvers).toEqual([
      {
        resolver: dns.address,
        status: 'nxdomain',
        values: [],
        matched: false,
        error: null,
        resolverBroken: `answered NXDOMAIN for the canary ${CANARY_NAME}, a name that always exists`,
      },
    ]);
    const attempts = await t.http.get(`/v1/domains/${pending.id}/attempts`).set(bearer(t.keys.auditor)).expect(200);
    expect(attempts.body.items[0]).toMatchObject({ outcome: 'unreachable', resolvers: [{ resolver: dns.address, status: 'nxdomain' }] });

    // Re-checks of the verified domain over more than the grace period count nothing against it.
    const start = clock.now().getTime();
    try {
      for (const hours of [24, 48, 72, 96, 120]) {
        clock.set(new Date(start + hours * HOUR));
        const recheck = await domains.check(verified.id, 'recheck', WORKER);
        expect(recheck.check.outcome).toBe('unreachable');
        expect(recheck.domain.status).toBe('verified');
        expect((await domains.check(pending.id, 'retry', WORKER)).domain.status).toBe('pending');
      }
    } finally {
      clock.set(new Date(start));
    }
    expect((await auditTrail(t, verified.id)).map((event) => event.action)).toEqual(['domain.created', 'domain.verified']);
    expect((await auditTrail(t, pending.id)).map((event) => event.action)).toEqual(['domain.created']);
    const stored = await t.prisma.domain.findUniqueOrThrow({ where: { id: verified.id } });
    expect(stored).toMatchObject({ status: 'verified', consecutiveFailures: 0 });
    // Eleven looks, one canary question: the answer is kept for half a minute.
    expect(canaryQueries() - before).toBe(1);
  });
});
