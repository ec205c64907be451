import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { ManualClock } from '@app/domain';
import { startWorker } from '@app/worker';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { auditTrail, bearer, startIsolatedTestApp, unique, type TestApp, type TestKey } from './support/test-app.js';

// "Not used for illegitimate email": grants, approvals and re-checks against
// DNS blocklists served by a real DNS server on 127.0.0.1, through c-ares.
describe('DNS blocklists and exceptions', () => {
  const zone = `bl-${randomUUID().slice(0, 8)}.example.net`;
  const domainZone = `dbl-${randomUUID().slice(0, 8)}.example.net`;
  const clock = new ManualClock(new Date('2026-12-02T10:00:00.000Z'));
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  const env = () => ({
    DNS_RESOLVERS: dns.address,
    DNS_TIMEOUT_MS: '300',
    DNS_TRIES: '1',
    DNSBL_ZONES: `${zone}:127.0.0.2-127.0.0.11`,
    DNSBL_DOMAIN_ZONES: domainZone,
  });

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp(env(), clock);
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  let lastOctet = 20;
  /** A proven mail server on an address of its own, announcing a HELO name not in DNS (so the exception stays needed). */
  const server = () => provenMailServer(t, dns, { addresses: [`198.51.100.${lastOctet++}`], helo: `${unique('exch')}.corp.example` });
  const queryName = (address: string) => `${address.split('.').reverse().join('.')}.${zone}`;
  const list = (address: string, answer = '127.0.0.2') => dns.a(queryName(address), [answer], 30);
  const delist = (address: string) => dns.remove(queryName(address));
  /** Past every cached answer: listings are served with a 30 s TTL, "not listed" is kept 60 s. */
  const afterCache = () => clock.advance(61_000);

  const grant = (key: TestKey, body: Record<string, unknown>) => t.http.post('/v1/exceptions').set(bearer(key)).send(body);
  const act = (key: TestKey, id: string, verb: string, body: Record<string, unknown> = {}) =>
    t.http.post(`/v1/exceptions/${id}/${verb}`).set(bearer(key)).send(body);
  const feed = async () => (await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200)).text;
  const inFeed = (address: string) => async () => (await feed()).includes(`${address}/32 OK`);
  const stored = (id: string) => t.prisma.exception.findUniqueOrThrow({ where: { id } });

  it('refuses a grant for a listed address: 422 naming the list and its answer, nothing written', async () => {
    const { mailServerId, addresses } = await server();
    const address = addresses[0]!.replace('/32', '');
    list(address, '127.0.0.3');
    dns.txt(queryName(address), ['Listed for spam, see https://lists.example.net/q']);
    const auditEvents = await t.prisma.auditEvent.count();
    const feedVersion = (await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version;

    const refused = await grant(t.keys.csr, { mailServerId, reason: 'Exchange announces its internal name' }).expect(422);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.body.detail).toBe(
      `the mail server is on a DNS blocklist: ${address} in ${zone} (127.0.0.3: Listed for spam, see https://lists.example.net/q)`,
    );
    // A csr's justification is no override.
    const csrOverride = await grant(t.keys.csr, { mailServerId, reason: 'customer insists', justification: 'the customer says it is clean' });
    expect(csrOverride.status).toBe(422);
    expect(csrOverride.body.detail).toContain('only an admin');

    expect(await t.prisma.exception.count({ where: { mailServerId } })).toBe(0);
    expect(await t.prisma.auditEvent.count()).toBe(auditEvents);
    expect((await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version).toBe(feedVersion);
  });

  it('takes an admin override with a justification: pending "blocklisted", approved by another admin, never suspended for that listing', async () => {
    const { mailServerId, addresses, heloHostname } = await server();
    const address = addresses[0]!.replace('/32', '');
    list(address, '127.0.0.4');

    const requested = await grant(t.keys.admin, {
      mailServerId,
      reason: 'Exchange announces its internal name',
      justification: 'Listed by mistake; delisting requested in CS-77',
    }).expect(201);
    expect(requested.body).toMatchObject({
      status: 'pending_approval',
      approvalReasons: ['blocklisted'],
      override: false,
      justification: 'Listed by mistake; delisting requested in CS-77',
      blocklistAccepted: [{ subject: address, zone, answers: ['127.0.0.4'] }],
    });
    const id = requested.body.id as string;
    expect(await act(t.keys.csr, id, 'approve').expect(403)).toBeTruthy();
    expect(await act(t.keys.adminAgain, id, 'approve').expect(403)).toBeTruthy();
    const approved = await act(t.keys.admin2, id, 'approve').expect(200);
    expect(approved.body).toMatchObject({ status: 'active', approvedByOwner: t.keys.admin2.owner });
    await expect.poll(inFeed(address)).toBe(true);

    // Still listed where it was when granted: the override stands.
    afterCache();
    const same = await act(t.keys.csr, id, 'recheck').expect(200);
    expect(same.body).toMatchObject({ status: 'active', changed: null, blocklists: { against: [] } });
    expect(same.body.blocklists.listed).toEqual([expect.objectContaining({ subject: address, zone })]);

    // A listing it was not granted over (its HELO name, in the domain list) suspends it.
    dns.a(`${heloHostname}.${domainZone}`, ['127.0.1.2'], 30);
    afterCache();
    const suspended = await act(t.keys.csr, id, 'recheck').expect(200);
    expect(suspended.body).toMatchObject({ status: 'suspended', suspensionCauses: ['blocklist'], changed: 'suspended' });
    expect(suspended.body.blocklists.against).toEqual([expect.objectContaining({ subject: heloHostname, zone: domainZone, answers: ['127.0.1.2'] })]);
  });

  it('suspends an exception listed later (it leaves the feed) and restores it once delisted; DNS trouble changes neither', async () => {
    const { mailServerId, addresses } = await server();
    const address = addresses[0]!.replace('/32', '');
    const granted = await grant(t.keys.csr, { mailServerId, reason: 'Exchange announces its internal name' }).expect(201);
    const id = granted.body.id as string;
    expect(granted.body).toMatchObject({ status: 'active', blocklistResult: { addressZones: [zone], listed: [], unknown: [] } });
    await expect.poll(inFeed(address)).toBe(true);

    list(address, '127.0.0.9');
    afterCache();
    const suspended = await act(t.keys.csr, id, 'recheck').expect(200);
    expect(suspended.body).toMatchObject({ exceptionId: id, status: 'suspended', suspensionCauses: ['blocklist'], changed: 'suspended' });
    expect(suspended.body.blocklists).toMatchObject({
      enabled: true,
      prefixes: [{ prefix: `${address}/32`, checked: 1, total: '1', partial: false }],
      listed: [{ subject: address, zone, query: queryName(address), answers: ['127.0.0.9'] }],
    });
    await expect.poll(inFeed(address)).toBe(false);
    const suspension = (await auditTrail(t, id)).at(-1)!;
    expect(suspension).toMatchObject({
      action: 'exception.suspended',
      actor: { id: t.keys.csr.id },
      before: { status: 'active' },
      after: { status: 'suspended', suspensionCauses: ['blocklist'], blocklists: { listed: [{ subject: address, zone, answers: ['127.0.0.9'] }] } },
    });

    // A list that does not answer is no delisting.
    delist(address);
    dns.timeout(queryName(address));
    afterCache();
    const silent = await act(t.keys.admin, id, 'recheck').expect(200);
    expect(silent.body).toMatchObject({ status: 'suspended', changed: null, blocklists: { listed: [], unknown: [{ subject: address, zone }] } });

    delist(address);
    const restored = await act(t.keys.admin, id, 'recheck').expect(200);
    expect(restored.body).toMatchObject({ status: 'active', suspensionCauses: [], changed: 'restored' });
    await expect.poll(inFeed(address)).toBe(true);
    expect((await auditTrail(t, id)).map((event) => event.action)).toEqual(['exception.granted', 'exception.suspended', 'exception.restored']);
    expect((await stored(id)).blocklistCheckedAt).toEqual(clock.now());

    await act(t.keys.auditor, id, 'recheck').expect(403);
    await act(t.keys.csr, randomUUID(), 'recheck').expect(404);
    await act(t.keys.csr, id, 'revoke', { reason: 'customer left' }).expect(200);
    expect((await act(t.keys.csr, id, 'recheck').expect(409)).body.detail).toContain('revoked');
  });

  it('never counts a timeout as listed: the grant goes through with the unknown recorded, and a running exception stays', async () => {
    const { mailServerId, addresses } = await server();
    const address = addresses[0]!.replace('/32', '');
    dns.timeout(queryName(address));

    const granted = await grant(t.keys.csr, { mailServerId, reason: 'Exchange announces its internal name' }).expect(201);
    expect(granted.body.status).toBe('active');
    expect(granted.body.blocklistResult.unknown).toEqual([
      { subject: address, zone, query: queryName(address), reason: expect.stringContaining('timeout') },
    ]);
    afterCache();
    const rechecked = await act(t.keys.csr, granted.body.id, 'recheck').expect(200);
    expect(rechecked.body).toMatchObject({ status: 'active', changed: null, blocklists: { listed: [], unknown: [{ subject: address }] } });
    await expect.poll(inFeed(address)).toBe(true);
  });

  it('refuses to approve a request for a server listed since it was made', async () => {
    const { mailServerId, addresses } = await server();
    const address = addresses[0]!.replace('/32', '');
    const expiresAt = new Date(clock.now().getTime() + 200 * 86_400_000).toISOString();
    const requested = await grant(t.keys.csr, { mailServerId, reason: 'long-running migration', expiresAt }).expect(201);
    expect(requested.body).toMatchObject({ status: 'pending_approval', approvalReasons: ['long_duration'] });

    list(address);
    afterCache();
    const refused = await act(t.keys.csr2, requested.body.id, 'approve').expect(422);
    expect(refused.body.detail).toContain(`${address} in ${zone} (127.0.0.2)`);
    expect((await stored(requested.body.id)).status).toBe('pending_approval');
    delist(address);
  });

  it('keeps an organization suspension and a listing apart: lifting one leaves the other', async () => {
    const { mailServerId, addresses, organizationId } = await server();
    const address = addresses[0]!.replace('/32', '');
    const id = (await grant(t.keys.csr, { mailServerId, reason: 'Exchange announces its internal name' }).expect(201)).body.id as string;
    const organization = (verb: 'suspend' | 'reactivate') => t.http.post(`/v1/organizations/${organizationId}/${verb}`).set(bearer(t.keys.csr)).expect(200);
    const causes = async () => {
      const row = await stored(id);
      return { status: row.status, causes: row.suspensionCauses };
    };

    // Listed, then the organization suspended: a delisting alone does not restore it.
    list(address);
    afterCache();
    await act(t.keys.csr, id, 'recheck').expect(200);
    await organization('suspend');
    expect(await causes()).toEqual({ status: 'suspended', causes: ['blocklist', 'organization'] });
    delist(address);
    afterCache();
    const lifted = await act(t.keys.csr, id, 'recheck').expect(200);
    expect(lifted.body).toMatchObject({ status: 'suspended', suspensionCauses: ['organization'], changed: 'suspension_cause_lifted' });
    await expect.poll(inFeed(address)).toBe(false);
    await organization('reactivate');
    expect(await causes()).toEqual({ status: 'active', causes: [] });
    await expect.poll(inFeed(address)).toBe(true);

    // The organization suspended, then listed: a reactivation alone does not restore it.
    await organization('suspend');
    list(address);
    afterCache();
    await act(t.keys.csr, id, 'recheck').expect(200);
    expect(await causes()).toEqual({ status: 'suspended', causes: ['organization', 'blocklist'] });
    await organization('reactivate');
    expect(await causes()).toEqual({ status: 'suspended', causes: ['blocklist'] });
    await expect.poll(inFeed(address)).toBe(false);
    delist(address);
    afterCache();
    await act(t.keys.csr, id, 'recheck').expect(200);
    expect(await causes()).toEqual({ status: 'active', causes: [] });
    expect((await auditTrail(t, id)).map((event) => event.action)).toEqual([
      'exception.granted',
      'exception.suspended',
      'exception.suspended',
      'exception.suspension_cause_lifted',
      'exception.restored',
      'exception.suspended',
      'exception.suspended',
      'exception.suspension_cause_lifted',
      'exception.restored',
    ]);
  });

  it("the worker's sweep re-checks running exceptions every interval: suspends when listed, restores when delisted", async () => {
    const { mailServerId, addresses } = await server();
    const address = addresses[0]!.replace('/32', '');
    const id = (await grant(t.keys.csr, { mailServerId, reason: 'Exchange announces its internal name' }).expect(201)).body.id as string;
    const worker = await startWorker(loadConfig({ DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', ...env() }), {
      clock,
      pollingIntervalSeconds: 0.5,
    });
    try {
      list(address);
      // Checked at the grant; due again after BLOCKLIST_RECHECK_INTERVAL_MINUTES (60).
      clock.advance(61 * 60_000);
      await worker.sweepNow();
      await expect.poll(async () => (await stored(id)).status, { timeout: 15_000, interval: 200 }).toBe('suspended');
      expect((await stored(id)).suspensionCauses).toEqual(['blocklist']);
      expect((await auditTrail(t, id)).at(-1)).toMatchObject({ action: 'exception.suspended', actor: { name: 'system:worker', id: null } });
      await expect.poll(inFeed(address)).toBe(false);

      delist(address);
      clock.advance(61 * 60_000);
      await worker.sweepNow();
      await expect.poll(async () => (await stored(id)).status, { timeout: 15_000, interval: 200 }).toBe('active');
      expect((await auditTrail(t, id)).at(-1)).toMatchObject({ action: 'exception.restored', actor: { name: 'system:worker' } });
      await expect.poll(inFeed(address)).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});

