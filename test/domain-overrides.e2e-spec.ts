import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@app/domain';
import { DomainsService } from '@app/ownership';
import { type TestDnsServer } from './support/dns-server.js';
import { auditTrail, bearer, createOrganization, unique, type TestApp, type TestKey } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

const HOUR = 3_600_000;

/** Domain overrides (DESIGN.md, Ownership §6): a request one admin makes and another owner decides. */
describe('domains: overrides', () => {
  let dns: TestDnsServer;
  let t: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => ({ t, dns } = await startAppOnTestDns({}, clock)));
  afterAll(() => stopAppOnTestDns(t, dns));

  async function addDomain(): Promise<{ id: string }> {
    const org = await createOrganization(t);
    const response = await t.http
      .post(`/v1/organizations/${org.id}/domains`)
      .set(bearer(t.keys.csr))
      .send({ name: `${unique('cust')}.example.com` })
      .expect(201);
    return response.body as { id: string };
  }

  const overrideBody = () => ({
    justification: 'customer DNS is managed by a slow agency; ticket 4711',
    expiresAt: new Date(clock.now().getTime() + 30 * 24 * HOUR).toISOString(),
  });
  const overrideAction = (key: TestKey, id: string, verb: 'approve' | 'reject', body: Record<string, unknown> = {}) =>
    t.http.post(`/v1/domains/${id}/override/${verb}`).set(bearer(key)).send(body);

  it('an override is a request: the status stays until another admin (another owner) approves; then re-checks do not undo it', async () => {
    const domains = t.app.get(DomainsService);
    const domain = await addDomain();
    await t.http
      .post(`/v1/domains/${domain.id}/override`)
      .set(bearer(t.keys.admin))
      .send({ justification: 'short', expiresAt: new Date(clock.now().getTime() + 24 * HOUR).toISOString() })
      .expect(400);
    await t.http
      .post(`/v1/domains/${domain.id}/override`)
      .set(bearer(t.keys.admin))
      .send({ justification: 'customer DNS is managed by a slow agency; ticket 4711', expiresAt: new Date(clock.now().getTime() - 1000).toISOString() })
      .expect(422);
    const requested = await t.http.post(`/v1/domains/${domain.id}/override`).set(bearer(t.keys.admin)).send(overrideBody()).expect(200);
    expect(requested.body).toMatchObject({
      status: 'pending',
      override: null,
      pendingOverride: {
        justification: 'customer DNS is managed by a slow agency; ticket 4711',
        requestedBy: t.keys.admin.id,
        requestedByOwner: t.keys.admin.owner,
        requestedAt: clock.now().toISOString(),
      },
    });
    // One request at a time.
    await t.http.post(`/v1/domains/${domain.id}/override`).set(bearer(t.keys.admin2)).send(overrideBody()).expect(409);

    // Neither the requester's key nor another key of the same person decides it; nothing changes.
    for (const key of [t.keys.admin, t.keys.adminAgain]) {
      expect((await overrideAction(key, domain.id, 'approve').expect(403)).body.detail).toContain('four eyes');
      expect((await overrideAction(key, domain.id, 'reject', { reason: 'not mine to refuse' }).expect(403)).body.detail).toContain('four eyes');
    }
    const unchanged = await t.http.get(`/v1/domains/${domain.id}`).set(bearer(t.keys.auditor)).expect(200);
    expect(unchanged.body).toMatchObject({ status: 'pending', override: null, pendingOverride: { requestedBy: t.keys.admin.id } });
    expect(unchanged.headers.etag).toBe(requested.headers.etag);
    const row = await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } });
    expect(row).toMatchObject({ status: 'pending', overrideApprovedBy: null, verifiedAt: null });

    const approved = await overrideAction(t.keys.admin2, domain.id, 'approve').expect(200);
    expect(approved.body).toMatchObject({
      status: 'verified',
      pendingOverride: null,
      override: {
        by: t.keys.admin.id,
        owner: t.keys.admin.owner,
        approvedBy: t.keys.admin2.id,
        approvedByOwner: t.keys.admin2.owner,
        approvedAt: clock.now().toISOString(),
        active: true,
      },
    });
    await overrideAction(t.keys.admin, domain.id, 'approve').expect(409);
    const worker = { actor: { id: null, name: 'system:worker', role: 'system' as const, owner: null } };
    const start = clock.now().getTime();
    try {
      for (const hours of [24, 48, 72, 96, 120]) {
        clock.set(new Date(start + hours * HOUR));
        const result = await domains.check(domain.id, 'recheck', worker);
        expect(result.domain.status).toBe('verified');
        expect(result.check.outcome).toBe('absent');
      }
      const trail = await auditTrail(t, domain.id);
      expect(trail.map((event) => [event.action, event.actor.owner])).toEqual([
        ['domain.created', t.keys.csr.owner],
        ['domain.override_requested', t.keys.admin.owner],
        ['domain.override_approved', t.keys.admin2.owner],
      ]);
      expect(trail[1]).toMatchObject({ before: { status: 'pending', pendingOverride: null }, after: { status: 'pending', pendingOverride: { requestedByOwner: t.keys.admin.owner } } });
      expect(trail[2]).toMatchObject({ before: { status: 'pending' }, after: { status: 'verified', override: { approvedByOwner: t.keys.admin2.owner } } });
    } finally {
      clock.set(new Date(start));
    }
  });

  it('a rejected override request ends with its reason; the domain stays as it was; csr keys cannot request or decide', async () => {
    const domain = await addDomain();
    await t.http.post(`/v1/domains/${domain.id}/override`).set(bearer(t.keys.csr)).send(overrideBody()).expect(403);
    await overrideAction(t.keys.admin2, domain.id, 'approve').expect(409);
    await t.http.post(`/v1/domains/${domain.id}/override`).set(bearer(t.keys.adminAgain)).send(overrideBody()).expect(200);
    await overrideAction(t.keys.csr, domain.id, 'reject', { reason: 'no' }).expect(403);
    await overrideAction(t.keys.admin2, domain.id, 'reject', {}).expect(400);
    const rejected = await overrideAction(t.keys.admin2, domain.id, 'reject', { reason: 'ask the customer to publish the record' }).expect(200);
    expect(rejected.body).toMatchObject({ status: 'pending', override: null, pendingOverride: null });
    const trail = await auditTrail(t, domain.id);
    expect(trail.map((event) => event.action)).toEqual(['domain.created', 'domain.override_requested', 'domain.override_rejected']);
    expect(trail[2]).toMatchObject({
      actor: { id: t.keys.admin2.id, owner: t.keys.admin2.owner },
      after: { pendingOverride: null, rejectionReason: 'ask the customer to publish the record' },
    });
    // Ended: nothing left to approve, and a new request may follow.
    await overrideAction(t.keys.admin2, domain.id, 'approve').expect(409);
    await t.http.post(`/v1/domains/${domain.id}/override`).set(bearer(t.keys.admin)).send(overrideBody()).expect(200);
  });

  it('the database refuses an override approved by its own requester\'s owner, even written directly', async () => {
    const domain = await addDomain();
    const owner = t.keys.admin.owner!;
    await expect(
      t.prisma.$executeRaw`UPDATE domains SET status = 'verified', override_justification = 'written around the API',
        override_expires_at = now() + interval '1 day', override_by = ${t.keys.admin.id}::uuid, override_by_owner = ${owner},
        override_approved_by = ${t.keys.adminAgain.id}::uuid, override_approved_by_owner = ${owner}, override_approved_at = now()
        WHERE id = ${domain.id}::uuid`,
    ).rejects.toThrow(/domains_override_four_eyes/);
    // Nor one recorded with its requester but nobody's approval.
    await expect(
      t.prisma.$executeRaw`UPDATE domains SET override_justification = 'written around the API', override_expires_at = now() + interval '1 day',
        override_by = ${t.keys.admin.id}::uuid, override_by_owner = ${owner} WHERE id = ${domain.id}::uuid`,
    ).rejects.toThrow(/domains_override_approved/);
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } })).status).toBe('pending');
  });
});
