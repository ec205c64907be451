import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, ManualClock, sha256Hex } from '@app/domain';
import { reverseName, startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import {
  auditTrail,
  bearer,
  createMailServer,
  createOrganization,
  randomIpv4,
  startIsolatedTestApp,
  type TestApp,
  type TestKey,
} from './support/test-app.js';

const DAY = 86_400_000;

/**
 * People and proof (DESIGN.md, "Who uses it", Ownership §5, "Exceptions:
 * rules"): four eyes compares owners, not keys; SPF alone is a claim; a helo
 * exception never names a public suffix; a server's name and addresses stay
 * as granted while its exceptions run; approval re-checks the server.
 */
describe('four eyes and proof', () => {
  let dns: TestDnsServer;
  // A database of its own: one test watches which sessions wait for locks.
  let t: TestApp & { databaseUrl: string };
  const clock = new ManualClock(new Date('2026-12-01T09:00:00.000Z'));

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' }, clock);
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  const grant = (key: TestKey, body: Record<string, unknown>) => t.http.post('/v1/exceptions').set(bearer(key)).send(body);
  const act = (key: TestKey, id: string, verb: string, body: Record<string, unknown> = {}) =>
    t.http.post(`/v1/exceptions/${id}/${verb}`).set(bearer(key)).send(body);
  const read = async (id: string) => (await t.http.get(`/v1/exceptions/${id}`).set(bearer(t.keys.auditor)).expect(200)).body;
  const actions = async (id: string) => (await auditTrail(t, id)).map((event) => event.action);

  describe('an admin with two keys is one person', () => {
    it('cannot approve or reject their own override with the second key; nothing changes', async () => {
      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const bare = await createMailServer(t, server.organizationId, { addresses: [randomIpv4()] });
      const requested = await grant(t.keys.admin, {
        mailServerId: bare.id,
        reason: 'partner relay',
        justification: 'contract 2026-21; the partner fixes its DNS next month',
      }).expect(201);
      expect(requested.body).toMatchObject({ status: 'pending_approval', requestedByOwner: t.keys.admin.owner });
      const approve = await act(t.keys.adminAgain, requested.body.id, 'approve').expect(403);
      expect(approve.body.detail).toContain('another person');
      await act(t.keys.adminAgain, requested.body.id, 'reject', { reason: 'withdrawn by myself' }).expect(403);
      const after = await read(requested.body.id);
      expect(after).toMatchObject({ status: 'pending_approval', approvedBy: null, approvedByOwner: null, rejectedBy: null });
      expect(await actions(requested.body.id)).toEqual(['exception.requested']);
      // Another person approves it.
      const approved = await act(t.keys.admin2, requested.body.id, 'approve').expect(200);
      expect(approved.body).toMatchObject({ status: 'active', approvedBy: t.keys.admin2.id, approvedByOwner: t.keys.admin2.owner });
    });

    it('cannot approve their own helo grant or renewal with the second key; nothing changes', async () => {
      const helo = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const heloGrant = await grant(t.keys.admin, { mailServerId: helo.mailServerId, scope: 'helo', reason: 'roaming laptops' }).expect(201);
      expect(heloGrant.body.approvalReasons).toEqual(['helo_scope']);
      await act(t.keys.adminAgain, heloGrant.body.id, 'approve').expect(403);
      expect(await read(heloGrant.body.id)).toMatchObject({ status: 'pending_approval', approvedBy: null });

      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const granted = await grant(t.keys.admin, { mailServerId: server.mailServerId, reason: 'until the fix' }).expect(201);
      expect(granted.body.status).toBe('active');
      const current = new Date(granted.body.expiresAt).toISOString();
      const wanted = new Date(clock.now().getTime() + 200 * DAY).toISOString();
      const asked = await act(t.keys.admin, granted.body.id, 'renew', { expiresAt: wanted }).expect(200);
      expect(asked.body.renewal).toEqual({
        expiresAt: wanted,
        requestedBy: t.keys.admin.id,
        requestedByOwner: t.keys.admin.owner,
        approvalReasons: ['long_duration'],
      });
      await act(t.keys.adminAgain, granted.body.id, 'approve').expect(403);
      await act(t.keys.admin, granted.body.id, 'approve').expect(403);
      expect(await read(granted.body.id)).toMatchObject({ expiresAt: current, renewal: { expiresAt: wanted } });
      expect(await actions(granted.body.id)).toEqual(['exception.granted', 'exception.renewal_requested']);
      const renewed = await act(t.keys.csr, granted.body.id, 'approve').expect(200);
      expect(renewed.body).toMatchObject({ expiresAt: wanted, renewal: null });
      const row = await t.prisma.exception.findUniqueOrThrow({ where: { id: granted.body.id } });
      expect(row).toMatchObject({ renewalRequestedByOwner: t.keys.admin.owner, renewalApprovedByOwner: t.keys.csr.owner });
    });

    it('the database refuses an approval by the requester\'s owner, even written directly', async () => {
      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const pending = await grant(t.keys.csr, {
        mailServerId: server.mailServerId,
        reason: 'long migration',
        expiresAt: new Date(clock.now().getTime() + 200 * DAY).toISOString(),
      }).expect(201);
      const owner = t.keys.csr.owner!;
      // Another key than the requester's, but the same owner: refused.
      await expect(
        t.prisma.$executeRaw`UPDATE exceptions SET status = 'active', approved_by = ${t.keys.csr2.id}::uuid,
          approved_by_owner = ${owner}, approved_at = now() WHERE id = ${pending.body.id}::uuid`,
      ).rejects.toThrow(/exceptions_four_eyes/);
      // An approver without an owner: refused.
      await expect(
        t.prisma.$executeRaw`UPDATE exceptions SET status = 'active', approved_by = ${t.keys.csr2.id}::uuid, approved_at = now()
          WHERE id = ${pending.body.id}::uuid`,
      ).rejects.toThrow(/exceptions_approver_owned/);
      // The same for a renewal.
      await expect(
        t.prisma.$executeRaw`UPDATE exceptions SET renewal_requested_by_owner = ${owner}, renewal_approved_by = ${t.keys.csr2.id}::uuid,
          renewal_approved_by_owner = ${owner}, renewal_approved_at = now() WHERE id = ${pending.body.id}::uuid`,
      ).rejects.toThrow(/exceptions_renewal_four_eyes/);
      expect(await read(pending.body.id)).toMatchObject({ status: 'pending_approval', approvedBy: null });
    });
  });

  describe('proof that holds', () => {
    it('SPF alone proves a claim: the grant waits for another person (spf_only); forward-confirmed PTR grants at once', async () => {
      const claimed = await provenMailServer(t, dns, { addresses: [randomIpv4()], proof: 'spf' });
      const pending = await grant(t.keys.csr, { mailServerId: claimed.mailServerId, reason: 'rests on SPF' }).expect(201);
      expect(pending.body).toMatchObject({ status: 'pending_approval', approvalReasons: ['spf_only'], override: false });
      expect(pending.body.evidence.addressEvidence).toEqual([expect.objectContaining({ proven: true, method: 'spf' })]);
      expect(pending.body.evidence.spfOnlyAddresses).toEqual(claimed.addresses);
      await act(t.keys.csr, pending.body.id, 'approve').expect(403);
      const approved = await act(t.keys.csr2, pending.body.id, 'approve').expect(200);
      expect(approved.body).toMatchObject({ status: 'active', approvedByOwner: t.keys.csr2.owner });

      const owned = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const active = await grant(t.keys.csr, { mailServerId: owned.mailServerId, scope: 'ip', reason: 'rests on PTR' }).expect(201);
      expect(active.body).toMatchObject({ status: 'active', approvalReasons: [] });
      expect(active.body.evidence.addressEvidence).toEqual([expect.objectContaining({ proven: true, method: 'ptr' })]);
    });

    it('a helo exception never names a public suffix (422), not even as an override; nothing is written', async () => {
      const org = await createOrganization(t);
      for (const name of ['com', 'co.uk', 'github.io']) {
        const server = await createMailServer(t, org.id, { heloHostname: name, addresses: [randomIpv4()] });
        const plain = await grant(t.keys.csr, { mailServerId: server.id, scope: 'helo', reason: 'misconfigured' }).expect(422);
        expect(plain.body.detail).toContain('public suffix');
        const override = await grant(t.keys.admin, {
          mailServerId: server.id,
          scope: 'helo',
          reason: 'misconfigured',
          justification: 'we know this customer well enough',
        }).expect(422);
        expect(override.body.detail).toContain('public suffix');
        expect(await t.prisma.exception.count({ where: { mailServerId: server.id } })).toBe(0);
      }
    });
  });

  describe('servers and exceptions stay consistent', () => {
    it('while exceptions run, PATCH of heloHostname or addresses is 409 naming them; other fields change; after they end, all may', async () => {
      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const pair = await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'pair' }).expect(201);
      const helo = await grant(t.keys.csr, { mailServerId: server.mailServerId, scope: 'helo', reason: 'helo' }).expect(201);
      const patch = (body: Record<string, unknown>) => t.http.patch(`/v1/mail-servers/${server.mailServerId}`).set(bearer(t.keys.csr)).send(body);
      for (const body of [
        { heloHostname: `mx2.${server.domain}` },
        { addresses: [randomIpv4()] },
        { description: 'with a new name', heloHostname: `mx3.${server.domain}` },
      ]) {
        const refused = await patch(body).expect(409);
        expect(refused.body.detail).toContain(pair.body.id);
        expect(refused.body.detail).toContain(helo.body.id);
        expect(refused.body.detail).toContain('heloHostname and addresses');
      }
      const unchanged = (await t.http.get(`/v1/mail-servers/${server.mailServerId}`).set(bearer(t.keys.csr)).expect(200)).body;
      expect(unchanged).toMatchObject({ heloHostname: server.heloHostname, addresses: server.addresses, description: null });
      // The same values, and other fields, may be sent.
      await patch({ heloHostname: server.heloHostname.toUpperCase(), description: 'rack 4' }).expect(200);
      await act(t.keys.csr, pair.body.id, 'revoke', { reason: 'moving the server' }).expect(200);
      const stillOne = await patch({ heloHostname: `mx2.${server.domain}` }).expect(409);
      expect(stillOne.body.detail).not.toContain(pair.body.id);
      await act(t.keys.admin2, helo.body.id, 'reject', { reason: 'not needed any more' }).expect(200);
      const moved = await patch({ heloHostname: `mx2.${server.domain}` }).expect(200);
      expect(moved.body).toMatchObject({ heloHostname: `mx2.${server.domain}`, description: 'rack 4' });
    });

    it('a grant and a change of the server at once: never both', async () => {
      for (let round = 0; round < 4; round += 1) {
        const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
        const [granted, patched] = await Promise.all([
          grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'race' }),
          t.http.patch(`/v1/mail-servers/${server.mailServerId}`).set(bearer(t.keys.csr2)).send({ addresses: [randomIpv4()] }),
        ]);
        expect([granted.status === 201, patched.status === 200], `round ${round}: ${granted.status} ${patched.status}`).not.toEqual([true, true]);
        expect(granted.status === 201 || patched.status === 200).toBe(true);
        const now = (await t.http.get(`/v1/mail-servers/${server.mailServerId}`).set(bearer(t.keys.csr)).expect(200)).body;
        const running = await t.prisma.exception.findMany({ where: { mailServerId: server.mailServerId } });
        for (const exception of running) {
          expect(exception.addresses).toEqual(now.addresses);
        }
      }
    });

    it('a change of the server waits for a grant in flight, and then sees its exception (the server row lock)', async () => {
      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const holder = new pg.Client({ connectionString: t.databaseUrl });
      // Outside any transaction: pg_stat_activity is read once per transaction.
      const watcher = new pg.Client({ connectionString: t.databaseUrl });
      await Promise.all([holder.connect(), watcher.connect()]);
      const waiting = async () =>
        (
          await watcher.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).rows[0]!.n;
      try {
        // Hold the organization's row, as a suspension in flight would: the grant, having read the
        // server, waits there to write its exception (whose foreign key needs that row).
        await holder.query('BEGIN');
        await holder.query('SELECT id FROM organizations WHERE id = $1 FOR UPDATE', [server.organizationId]);
        // (supertest sends a request once it is awaited or then()-ed)
        const granting = grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'while the server changes' }).then((response) => response);
        await expect.poll(waiting, { timeout: 10_000, interval: 20 }).toBe(1);
        let patched: Awaited<typeof granting> | undefined;
        const patching = t.http
          .patch(`/v1/mail-servers/${server.mailServerId}`)
          .set(bearer(t.keys.csr2))
          .send({ addresses: [randomIpv4()] })
          .then((response) => (patched = response));
        // The change must wait for the grant's lock on the server; were there none, it would finish now.
        await expect.poll(async () => patched !== undefined || (await waiting()) === 2, { timeout: 10_000, interval: 20 }).toBe(true);
        await holder.query('ROLLBACK');
        const [granted] = await Promise.all([granting, patching]);
        expect([granted.status, patched!.status]).toEqual([201, 409]);
        expect(patched!.body.detail).toContain(granted.body.id);
        const now = (await t.http.get(`/v1/mail-servers/${server.mailServerId}`).set(bearer(t.keys.csr)).expect(200)).body;
        expect(now.addresses).toEqual(granted.body.addresses);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await Promise.all([holder.end(), watcher.end()]);
      }
    });

    it('approval after the server changed is 422 naming the change, and writes nothing', async () => {
      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const pending = await grant(t.keys.csr, {
        mailServerId: server.mailServerId,
        reason: 'long migration',
        expiresAt: new Date(clock.now().getTime() + 200 * DAY).toISOString(),
      }).expect(201);
      // A change the API no longer allows (made before this rule, or around it): the name and an address differ now.
      const moved = randomIpv4();
      await t.prisma.$transaction([
        t.prisma.mailServer.update({ where: { id: server.mailServerId }, data: { heloHostname: `mx9.${server.domain}` } }),
        t.prisma.mailServerAddress.updateMany({
          where: { mailServerId: server.mailServerId },
          data: { heloHostname: `mx9.${server.domain}`, prefix: `${moved}/32` },
        }),
      ]);
      dns.ptr(moved, [`mx.${server.domain}`]);
      dns.a(`mx.${server.domain}`, [moved]);
      const refused = await act(t.keys.csr2, pending.body.id, 'approve').expect(422);
      expect(refused.body.detail).toContain(`now announces mx9.${server.domain}`);
      expect(refused.body.detail).toContain(`no longer holds ${server.addresses[0]}`);
      const after = await read(pending.body.id);
      expect(after).toMatchObject({ status: 'pending_approval', approvedBy: null });
      expect((await t.http.get(`/v1/exceptions/${pending.body.id}`).set(bearer(t.keys.csr))).headers.etag).toBe('"1"');
      expect(await actions(pending.body.id)).toEqual(['exception.requested']);
    });

    it('approval after the proof vanished is 422 naming what is unproven, and writes nothing; an override rests on its justification', async () => {
      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const pending = await grant(t.keys.csr, {
        mailServerId: server.mailServerId,
        reason: 'long migration',
        expiresAt: new Date(clock.now().getTime() + 200 * DAY).toISOString(),
      }).expect(201);
      expect(pending.body.approvalReasons).toEqual(['long_duration']);
      const address = server.addresses[0]!.split('/')[0]!;
      dns.remove(reverseName(address));
      dns.remove(server.domain, 'TXT');
      const refused = await act(t.keys.csr2, pending.body.id, 'approve').expect(422);
      expect(refused.body.detail).toContain('no longer proven');
      expect(refused.body.detail).toContain(server.addresses[0]);
      expect(await read(pending.body.id)).toMatchObject({ status: 'pending_approval', approvedBy: null });
      expect(await actions(pending.body.id)).toEqual(['exception.requested']);

      // Back in DNS: approved.
      dns.ptr(address, [`mx.${server.domain}`]);
      await act(t.keys.csr2, pending.body.id, 'approve').expect(200);

      // An override never rested on DNS: it is approved without it.
      const bare = await createMailServer(t, server.organizationId, { addresses: [randomIpv4()] });
      const override = await grant(t.keys.admin, {
        mailServerId: bare.id,
        reason: 'partner relay',
        justification: 'contract 2026-30; checked by phone',
      }).expect(201);
      await act(t.keys.admin2, override.body.id, 'approve').expect(200);
    });
  });

  it('the audit trail records each actor\'s owner, filters by it (any spelling), and still verifies', async () => {
    const org = await createOrganization(t);
    await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.adminAgain)).send({ notes: 'second key' }).expect(200);
    const trail = await auditTrail(t, org.id);
    expect(trail.map((event) => [event.action, event.actor.id, event.actor.owner])).toEqual([
      ['organization.created', t.keys.csr.id, t.keys.csr.owner],
      ['organization.updated', t.keys.adminAgain.id, t.keys.admin.owner],
    ]);
    const byOwner = await t.http
      .get('/v1/audit-events')
      .query({ organizationId: org.id, actorOwner: t.keys.admin.owner!.toUpperCase() })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(byOwner.body.items.map((event: { action: string }) => event.action)).toEqual(['organization.updated']);
    await t.http.get('/v1/audit-events').query({ actorOwner: 'two words' }).set(bearer(t.keys.auditor)).expect(400);
    const verified = await t.http.get('/v1/audit-events/verify').set(bearer(t.keys.auditor)).expect(200);
    expect(verified.body).toMatchObject({ valid: true, firstBrokenEventId: null });
    // The owner is part of what is hashed (so editing it would break the chain); an event without one hashes as before owners existed.
    const row = await t.prisma.auditEvent.findFirstOrThrow({ where: { entityId: org.id, action: 'organization.updated' } });
    expect(row.actorOwner).toBe(t.keys.admin.owner);
    const { prevHash, hash } = await t.prisma.auditChainLink.findUniqueOrThrow({ where: { eventId: row.id } });
    const { seq: _seq, actorOwner, ...fields } = row;
    expect(hash).toBe(sha256Hex(prevHash + canonicalJson({ ...fields, actorOwner })));
    expect(hash).not.toBe(sha256Hex(prevHash + canonicalJson(fields)));
  });

  it('documents owners, the override flow and the re-check in the OpenAPI document', async () => {
    const document = (await t.http.get('/docs/json').expect(200)).body;
    const schemas = document.components.schemas;
    expect(schemas.CreateApiKeyDto.properties).toHaveProperty('owner');
    expect(schemas.ApiKeyResponseDto.properties).toHaveProperty('owner');
    expect(schemas.AuditActorDto.properties).toHaveProperty('owner');
    expect(schemas.ExceptionResponseDto.properties).toHaveProperty('requestedByOwner');
    expect(schemas.DomainResponseDto.properties).toHaveProperty('pendingOverride');
    expect(schemas.OwnershipResponseDto.properties).toHaveProperty('spfOnlyAddresses');
    expect(document.paths['/v1/domains/{id}/override/approve'].post['x-roles']).toEqual(['admin']);
    expect(document.paths['/v1/domains/{id}/override/reject'].post['x-roles']).toEqual(['admin']);
    expect(document.paths['/v1/exceptions/{id}/approve'].post.responses).toHaveProperty('422');
  });
});
