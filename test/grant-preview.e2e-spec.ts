import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, createMailServer, createOrganization, startIsolatedTestApp, unique, type TestApp, type TestKey } from './support/test-app.js';

const DAY = 86_400_000;

/**
 * POST /v1/exceptions/preview: every rule of a grant, applied as the grant
 * would apply it, answered before anything is written — so that the
 * console's grant form can say in advance what a grant will do without
 * holding a single rule of its own. On a database of its own: that nothing
 * at all is written is read off whole tables.
 */
describe('grant preview (dry run)', () => {
  const zone = `bl-${randomUUID().slice(0, 8)}.example.net`;
  let t: TestApp;
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1', DNSBL_ZONES: `${zone}:127.0.0.2-127.0.0.11` });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  let octet = 10;
  const nextAddress = () => `203.0.113.${octet++}`;
  const preview = (key: TestKey, body: Record<string, unknown>) => t.http.post('/v1/exceptions/preview').set(bearer(key)).send(body);
  const grant = (key: TestKey, body: Record<string, unknown>) => t.http.post('/v1/exceptions').set(bearer(key)).send(body);
  /** Everything a grant writes somewhere: exceptions, audit events, the feed's version and change log, the outbox, idempotency records, evidence. */
  const written = async () => ({
    exceptions: await t.prisma.exception.count(),
    auditEvents: await t.prisma.auditEvent.count(),
    feedVersion: (await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version,
    feedChanges: await t.prisma.feedChange.count(),
    outbox: await t.prisma.notificationEvent.count(),
    idempotency: await t.prisma.idempotencyRecord.count(),
    // The servers' recorded ownership evidence (a grant records what it saw).
    evidence: (await t.prisma.mailServerOwnership.findMany({ select: { mailServerId: true, checkedAt: true }, orderBy: { mailServerId: 'asc' } })).map(
      (row) => `${row.mailServerId}@${row.checkedAt.toISOString()}`,
    ),
  });
  const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

  it('answers what the grant would do, and the grant then does exactly that; the preview writes nothing', async () => {
    const server = await provenMailServer(t, dns, { addresses: [nextAddress()] });
    const before = await written();
    const answer = await preview(t.keys.csr, { mailServerId: server.mailServerId, reason: 'Exchange announces its internal name' }).expect(200);
    expect(answer.body).toMatchObject({ outcome: 'active', problem: null, scope: 'pair', approvalReasons: [], adminApproval: false, justificationNeeded: false, missingProof: [] });
    expect(answer.body.evidence.addressEvidence[0]).toMatchObject({ proven: true });
    expect(await written()).toEqual(before);

    const granted = await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'Exchange announces its internal name' }).expect(201);
    expect(granted.body.status).toBe('active');
    expect(await written()).not.toEqual(before);
  });

  it('names every four-eyes reason in advance: SPF alone, a wide prefix, a long window, the helo scope', async () => {
    const spf = await provenMailServer(t, dns, { addresses: [nextAddress()], proof: 'spf' });
    const wide = await provenMailServer(t, dns, { addresses: ['198.51.100.0/23'] });
    const own = await provenMailServer(t, dns, { addresses: [nextAddress()], organizationId: t.keys.customer.organizationId! });
    const before = await written();

    const spfOnly = await preview(t.keys.csr, { mailServerId: spf.mailServerId }).expect(200);
    expect(spfOnly.body).toMatchObject({ outcome: 'pending_approval', approvalReasons: ['spf_only'], adminApproval: false });
    const long = await preview(t.keys.csr, { mailServerId: spf.mailServerId, expiresAt: inDays(200) }).expect(200);
    expect(long.body).toMatchObject({ outcome: 'pending_approval', approvalReasons: ['spf_only', 'long_duration'] });
    const widePrefix = await preview(t.keys.csr, { mailServerId: wide.mailServerId }).expect(200);
    expect(widePrefix.body.outcome).toBe('pending_approval');
    expect(widePrefix.body.approvalReasons).toContain('wide_prefix');
    const helo = await preview(t.keys.csr, { mailServerId: spf.mailServerId, scope: 'helo' }).expect(200);
    expect(helo.body).toMatchObject({ outcome: 'pending_approval', scope: 'helo', approvalReasons: ['helo_scope'], adminApproval: true });
    // A customer's own request always waits for a CSR.
    const asked = await preview(t.keys.customer, { mailServerId: own.mailServerId }).expect(200);
    expect(asked.body).toMatchObject({ outcome: 'pending_approval', approvalReasons: ['customer_request'] });
    expect(await written()).toEqual(before);

    // The grant agrees with its preview.
    const granted = await grant(t.keys.csr, { mailServerId: spf.mailServerId, reason: 'until the fix', expiresAt: inDays(200) }).expect(201);
    expect(granted.body).toMatchObject({ status: 'pending_approval', approvalReasons: ['spf_only', 'long_duration'] });
  });

  it('answers a refusal with the problem the grant would answer, and what a justification would need', async () => {
    const organization = await createOrganization(t);
    const unproven = await createMailServer(t, organization.id, { heloHostname: `${unique('exch')}.corp.local`, addresses: [nextAddress()] });
    const before = await written();

    const refused = await preview(t.keys.csr, { mailServerId: unproven.id }).expect(200);
    expect(refused.body).toMatchObject({ outcome: 'refused', justificationNeeded: true, approvalReasons: ['override'], adminApproval: true });
    expect(refused.body.problem).toMatchObject({ status: 422 });
    expect(refused.body.problem.detail).toContain('ownership is not proven');
    expect(refused.body.missingProof).toHaveLength(1);

    const csrJustified = await preview(t.keys.csr, { mailServerId: unproven.id, justification: 'shown the invoice on a call' }).expect(200);
    expect(csrJustified.body.problem.detail).toContain('only an admin');
    const adminJustified = await preview(t.keys.admin, { mailServerId: unproven.id, justification: 'shown the invoice on a call' }).expect(200);
    expect(adminJustified.body).toMatchObject({ outcome: 'pending_approval', problem: null, approvalReasons: ['override'] });

    const badWindow = await preview(t.keys.admin, { mailServerId: unproven.id, justification: 'shown the invoice on a call', expiresAt: inDays(400) }).expect(200);
    expect(badWindow.body).toMatchObject({ outcome: 'refused', expiresAt: null });
    expect(badWindow.body.problem.detail).toContain('at most');
    expect(await written()).toEqual(before);

    // The grant itself answers what its preview said.
    const granting = await grant(t.keys.csr, { mailServerId: unproven.id, reason: 'until the fix' }).expect(422);
    expect(refused.body.problem.detail).toBe(granting.body.detail);
  });

  it('screens the DNS blocklists in advance', async () => {
    const server = await provenMailServer(t, dns, { addresses: [nextAddress()] });
    const address = server.addresses[0]!.replace('/32', '');
    dns.a(`${address.split('.').reverse().join('.')}.${zone}`, ['127.0.0.3']);
    const before = await written();
    const refused = await preview(t.keys.csr, { mailServerId: server.mailServerId }).expect(200);
    expect(refused.body).toMatchObject({ outcome: 'refused', justificationNeeded: true, approvalReasons: ['blocklisted'] });
    expect(refused.body.blocklistListings).toContain(zone);
    expect(refused.body.problem.detail).toContain('DNS blocklist');
    const overridden = await preview(t.keys.admin, { mailServerId: server.mailServerId, justification: 'delisting requested, ticket 4711' }).expect(200);
    expect(overridden.body).toMatchObject({ outcome: 'pending_approval', approvalReasons: ['blocklisted'], adminApproval: true });
    expect(await written()).toEqual(before);
  });

  it('answers the conflicts of the grant\'s transaction: a running exception of the scope, a suspended organization', async () => {
    const server = await provenMailServer(t, dns, { addresses: [nextAddress()] });
    await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'until the fix' }).expect(201);
    const before = await written();
    const twice = await preview(t.keys.csr, { mailServerId: server.mailServerId }).expect(200);
    expect(twice.body).toMatchObject({ outcome: 'refused', problem: { status: 409 } });
    expect(twice.body.problem.detail).toContain('already has a pair exception');
    // Another scope is free.
    const ip = await preview(t.keys.csr, { mailServerId: server.mailServerId, scope: 'ip' }).expect(200);
    expect(ip.body.outcome).toBe('active');
    expect(await written()).toEqual(before);

    const other = await provenMailServer(t, dns, { addresses: [nextAddress()] });
    await t.http.post(`/v1/organizations/${other.organizationId}/suspend`).set(bearer(t.keys.csr)).expect(200);
    const suspended = await preview(t.keys.csr, { mailServerId: other.mailServerId }).expect(200);
    expect(suspended.body).toMatchObject({ outcome: 'refused', problem: { status: 422, detail: 'the organization is suspended; reactivate it first' } });
  });

  it('refuses bad input as a grant does (400, 404), and keeps a customer to its own servers', async () => {
    const foreign = await provenMailServer(t, dns, { addresses: [nextAddress()] });
    const before = await written();
    const bad = await preview(t.keys.csr, { mailServerId: 'nope', scope: 'wide' }).expect(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.body.errors.map((error: { field: string }) => error.field).sort()).toEqual(['mailServerId', 'scope']);
    await preview(t.keys.csr, { mailServerId: randomUUID() }).expect(404);
    await preview(t.keys.customer, { mailServerId: foreign.mailServerId }).expect(404);
    await preview(t.keys.auditor, { mailServerId: foreign.mailServerId }).expect(403);
    expect(await written()).toEqual(before);
  });
});
