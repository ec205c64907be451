import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { auditTrail, bearer, createMailServer, createOrganization, randomIpv4, unique, type TestApp, type TestKey } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

/**
 * Customer self-service: a key bound to one organization, minted by a CSR,
 * that lets the customer's IT staff do their part — add domains and
 * servers, read what concerns them, ask for exceptions — and nothing more.
 * (test/route-access.e2e-spec.ts checks every route for the customer role,
 * including 404 for another organization's resources.)
 */
describe('customer keys', () => {
  let dns: TestDnsServer;
  let t: TestApp;

  beforeAll(async () => ({ t, dns } = await startAppOnTestDns()));
  afterAll(() => stopAppOnTestDns(t, dns));

  /** A CSR mints a customer key for a new organization; answers the key as the tests use it. */
  async function customerOf(organizationId: string): Promise<TestKey> {
    const owner = `${unique('it')}@customer.example`;
    const created = await t.http.post('/v1/api-keys').set(bearer(t.keys.csr)).send({ name: unique('customer it'), role: 'customer', organizationId, owner }).expect(201);
    expect(created.body).toMatchObject({ role: 'customer', organizationId, owner });
    return { id: created.body.id, key: created.body.key, role: 'customer', name: created.body.name, owner, organizationId };
  }

  it('is minted by a CSR or an admin, bound to one existing organization and naming its owner; a CSR mints nothing else', async () => {
    const org = await createOrganization(t);
    const key = await customerOf(org.id);
    const trail = await auditTrail(t, key.id);
    expect(trail).toMatchObject([{ action: 'api_key.created', organizationId: org.id, actor: { id: t.keys.csr.id } }]);

    const mint = (caller: TestKey, body: Record<string, unknown>) => t.http.post('/v1/api-keys').set(bearer(caller)).send({ name: unique('k'), ...body });
    const csrAdmin = await mint(t.keys.csr, { role: 'admin', owner: 'someone@example.com' }).expect(403);
    expect(csrAdmin.body.detail).toContain('customer keys only');
    await mint(t.keys.csr, { role: 'filter' }).expect(403);
    expect((await mint(t.keys.csr, { role: 'customer', owner: 'it@customer.example' }).expect(400)).body.detail).toContain('organizationId');
    expect((await mint(t.keys.admin, { role: 'auditor', owner: 'a@example.com', organizationId: org.id }).expect(400)).body.detail).toContain('organizationId');
    expect((await mint(t.keys.csr, { role: 'customer', organizationId: org.id }).expect(400)).body.detail).toContain('owner');
    await mint(t.keys.csr, { role: 'customer', owner: 'it@customer.example', organizationId: '6f1c2a52-0000-4000-8000-000000000009' }).expect(404);
    await mint(key, { role: 'customer', owner: 'it@customer.example', organizationId: org.id }).expect(403);
    await mint(t.keys.auditor, { role: 'customer', owner: 'it@customer.example', organizationId: org.id }).expect(403);
    await mint(t.keys.admin, { role: 'customer', owner: 'it@customer.example', organizationId: org.id }).expect(201);
  });

  it('sees its own organization only: lists are cut to it, another organization is "not found"', async () => {
    const ours = await createOrganization(t, { notes: 'pays late; escalate to billing' });
    const theirs = await createOrganization(t);
    const key = await customerOf(ours.id);
    const ourServer = await createMailServer(t, ours.id);
    const theirServer = await createMailServer(t, theirs.id, { heloHostname: ourServer.heloHostname });

    const organizations = await t.http.get('/v1/organizations').set(bearer(key)).expect(200);
    expect(organizations.body.items.map((item: { id: string }) => item.id)).toEqual([ours.id]);
    // The provider's notes about the customer are for its staff only.
    expect(organizations.body.items[0].notes).toBeNull();
    expect((await t.http.get(`/v1/organizations/${ours.id}`).set(bearer(key)).expect(200)).body.notes).toBeNull();
    expect((await t.http.get(`/v1/organizations/${ours.id}`).set(bearer(t.keys.csr)).expect(200)).body.notes).toBe('pays late; escalate to billing');
    expect((await t.http.get('/v1/organizations').query({ q: theirs.name }).set(bearer(key)).expect(200)).body.items).toEqual([]);

    const servers = await t.http.get('/v1/mail-servers').query({ helo: ourServer.heloHostname }).set(bearer(key)).expect(200);
    expect(servers.body.items.map((item: { id: string }) => item.id)).toEqual([ourServer.id]);
    const staff = await t.http.get('/v1/mail-servers').query({ helo: ourServer.heloHostname }).set(bearer(t.keys.csr)).expect(200);
    expect(staff.body.items.map((item: { id: string }) => item.id).sort()).toEqual([ourServer.id, theirServer.id].sort());

    const mine = await provenMailServer(t, dns, { addresses: [randomIpv4()], organizationId: ours.id });
    const other = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const ourGrant = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mine.mailServerId, reason: 'fix pending' }).expect(201);
    const theirGrant = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: other.mailServerId, reason: 'fix pending' }).expect(201);
    const exceptions = await t.http.get('/v1/exceptions').query({ limit: 200 }).set(bearer(key)).expect(200);
    expect(exceptions.body.items.map((item: { id: string }) => item.id)).toEqual([ourGrant.body.id]);
    expect((await t.http.get('/v1/exceptions').query({ organizationId: other.organizationId }).set(bearer(key)).expect(404)).body.detail).toBe('organization not found');
    await t.http.get(`/v1/exceptions/${theirGrant.body.id}`).set(bearer(key)).expect(404);
    await t.http.get(`/v1/exceptions/${theirGrant.body.id}/history`).set(bearer(key)).expect(404);
    await t.http.get(`/v1/mail-servers/${theirServer.id}`).set(bearer(key)).expect(404);
    await t.http.get(`/v1/organizations/${theirs.id}`).set(bearer(key)).expect(404);
    await t.http.post(`/v1/organizations/${theirs.id}/domains`).set(bearer(key)).send({ name: `${unique('x')}.example.com` }).expect(404);
    expect(await t.prisma.domain.count({ where: { organizationId: theirs.id } })).toBe(0);

    // Diagnostics: its own servers only.
    const ip = ourServer.addresses[0]!.split('/')[0]!;
    const diagnosis = await t.http.get('/v1/diagnostics/helo').query({ helo: ourServer.heloHostname, ip }).set(bearer(key)).expect(200);
    expect(diagnosis.body.owners).toEqual([expect.objectContaining({ organizationId: ours.id, mailServerId: ourServer.id })]);
    await t.http.get('/v1/diagnostics/helo').query({ helo: 'exch01.somebody-else.example', ip }).set(bearer(key)).expect(404);
    await t.http.get('/v1/diagnostics/helo').query({ helo: ourServer.heloHostname, ip: theirServer.addresses[0]!.split('/')[0]! }).set(bearer(key)).expect(404);
  });

  it('adds domains and servers and asks for exceptions, which always wait for a CSR; every action audited with its owner', async () => {
    const org = await createOrganization(t);
    const key = await customerOf(org.id);
    const domain = `${unique('self')}.example.com`;
    const claimed = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(key)).send({ name: domain }).expect(201);
    dns.txt(claimed.body.challenge.recordName, [claimed.body.challenge.recordValue]);
    const verified = await t.http.post(`/v1/domains/${claimed.body.id}/verify`).set(bearer(key)).expect(200);
    expect(verified.body.domain?.status ?? verified.body.status).toBe('verified');

    const address = randomIpv4();
    dns.txt(domain, [`v=spf1 ip4:${address} -all`]);
    dns.ptr(address, [`mx.${domain}`]);
    dns.a(`mx.${domain}`, [address]);
    const server = await t.http.post(`/v1/organizations/${org.id}/mail-servers`).set(bearer(key)).send({ heloHostname: `exch01.${domain}`, addresses: [address] }).expect(201);
    const evidence = await t.http.get(`/v1/mail-servers/${server.body.id}/ownership`).set(bearer(key)).expect(200);
    expect(evidence.body).toMatchObject({ mailServerId: server.body.id, verifiedDomains: [domain] });

    // Fully proven, nothing that needs four eyes: a CSR's grant would be active at once; the customer's waits.
    const asked = await t.http.post('/v1/exceptions').set(bearer(key)).send({ mailServerId: server.body.id, reason: 'our Exchange announces its internal name' }).expect(201);
    expect(asked.body).toMatchObject({ status: 'pending_approval', approvalReasons: ['customer_request'], requestedBy: key.id, requestedByOwner: key.owner });
    const allowlist = await t.http.get('/v1/allowlist').set(bearer(t.keys.filter)).expect(200);
    expect(JSON.stringify(allowlist.body)).not.toContain(address);
    expect((await t.http.post(`/v1/exceptions/${asked.body.id}/approve`).set(bearer(key)).expect(403)).body.type).toContain('forbidden');
    await t.http.post(`/v1/exceptions/${asked.body.id}/revoke`).set(bearer(key)).send({ reason: 'not needed' }).expect(403);
    // Nor does it decide anything.
    await t.http.post(`/v1/exceptions/${asked.body.id}/reject`).set(bearer(key)).send({ reason: 'no' }).expect(403);

    const approved = await t.http.post(`/v1/exceptions/${asked.body.id}/approve`).set(bearer(t.keys.csr)).expect(200);
    expect(approved.body).toMatchObject({ status: 'active', approvedByOwner: t.keys.csr.owner });
    const history = await t.http.get(`/v1/exceptions/${asked.body.id}/history`).set(bearer(key)).expect(200);
    expect(history.body.map((event: { action: string }) => event.action)).toEqual(['exception.requested', 'exception.approved']);
    expect(history.body[0].actor).toEqual({ id: key.id, name: key.name, role: 'customer', owner: key.owner });

    for (const entity of [claimed.body.id, server.body.id]) {
      expect((await auditTrail(t, entity))[0]!.actor).toMatchObject({ id: key.id, role: 'customer', owner: key.owner });
    }
  });

  it('is told that a server is registered elsewhere, never by whom', async () => {
    const theirs = await createOrganization(t, { name: unique('Secret Competitor') });
    const server = await createMailServer(t, theirs.id);
    const org = await createOrganization(t);
    const key = await customerOf(org.id);
    const refused = await t.http.post(`/v1/organizations/${org.id}/mail-servers`).set(bearer(key)).send({ heloHostname: server.heloHostname, addresses: server.addresses }).expect(409);
    expect(refused.body.detail).toContain('registered to another organization');
    expect(refused.text).not.toContain('Secret Competitor');
    expect(refused.text).not.toContain(theirs.id);
    expect(await t.prisma.mailServer.count({ where: { organizationId: org.id } })).toBe(0);
  });

  it('stops working when revoked, by a CSR (who revokes customer keys only) or an admin', async () => {
    const org = await createOrganization(t);
    const key = await customerOf(org.id);
    await t.http.get(`/v1/organizations/${org.id}`).set(bearer(key)).expect(200);
    const revoked = await t.http.delete(`/v1/api-keys/${key.id}`).set(bearer(t.keys.csr2)).expect(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    await t.http.get(`/v1/organizations/${org.id}`).set(bearer(key)).expect(401);
    expect((await auditTrail(t, key.id)).map((event) => [event.action, event.actor.id])).toEqual([
      ['api_key.created', t.keys.csr.id],
      ['api_key.revoked', t.keys.csr2.id],
    ]);

    const auditorKey = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name: unique('aud'), role: 'auditor', owner: 'aud@example.com' }).expect(201);
    expect((await t.http.delete(`/v1/api-keys/${auditorKey.body.id}`).set(bearer(t.keys.csr)).expect(403)).body.detail).toContain('customer keys only');
    expect((await t.http.get(`/v1/audit-events`).query({ entityId: auditorKey.body.id }).set(bearer(t.keys.auditor)).expect(200)).body.items).toHaveLength(1);
    await t.http.delete(`/v1/api-keys/${key.id}`).set(bearer(key)).expect(401);
  });
});
