import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ManualClock } from '@app/domain';
import { FEED_CHANNEL } from '@app/enforcement';
import { ExceptionDecisionsService } from '@app/exceptions';
import { DomainsService } from '@app/ownership';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { auditTrail, bearer, createMailServer, startIsolatedTestApp, type TestApp, type TestKey } from './support/test-app.js';

const DAY = 86_400_000;
const BARRIER_CHANNEL = 'helopass_test_barrier';

describe('exceptions', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let listener: pg.Client;
  const notifications: string[] = [];
  /** Markers this spec sends itself (see feedMoves). */
  const barriers: string[] = [];
  const clock = new ManualClock(new Date('2026-11-28T12:00:00.000Z'));

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' }, clock);
    listener = new pg.Client({ connectionString: t.databaseUrl });
    await listener.connect();
    // A feed notification carries the version (and, when it fits, the change itself).
    listener.on('notification', (message) =>
      message.channel === BARRIER_CHANNEL ? barriers.push(message.payload ?? '') : notifications.push(JSON.parse(message.payload ?? '{}').v),
    );
    await listener.query(`LISTEN ${FEED_CHANNEL}`);
    await listener.query(`LISTEN ${BARRIER_CHANNEL}`);
  });
  afterAll(async () => {
    await listener?.end();
    await t?.close();
    await dns?.stop();
  });

  const feedVersion = async () => Number((await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version);
  /**
   * Runs `work` and answers how far the feed version moved and which NOTIFYs it caused. PostgreSQL
   * delivers notifications in the order their transactions committed, on every channel a session
   * listens to: once a marker sent after the work arrives, every notification of the work has too.
   */
  async function feedMoves(work: () => Promise<unknown>): Promise<{ bumps: number; notified: string[] }> {
    const before = await feedVersion();
    const seen = notifications.length;
    await work();
    const after = await feedVersion();
    const marker = randomUUID();
    await t.prisma.$executeRaw`SELECT pg_notify(${BARRIER_CHANNEL}, ${marker})`;
    await expect.poll(() => barriers.includes(marker)).toBe(true);
    return { bumps: after - before, notified: notifications.slice(seen) };
  }

  const grant = (key: TestKey, body: Record<string, unknown>) => t.http.post('/v1/exceptions').set(bearer(key)).send(body);
  const act = (key: TestKey, id: string, verb: string, body: Record<string, unknown> = {}) =>
    t.http.post(`/v1/exceptions/${id}/${verb}`).set(bearer(key)).send(body);

  it('grants a pair exception for a proven server: active at once, evidence copied, audited, feed bumped and announced', async () => {
    const server = await provenMailServer(t, dns);
    let response!: Awaited<ReturnType<typeof grant>>;
    const moves = await feedMoves(async () => {
      response = await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'Exchange announces its internal name', ticketRef: 'CS-1' }).expect(201);
    });
    expect(response.headers.etag).toBe('"1"');
    expect(response.body).toMatchObject({
      organizationId: server.organizationId,
      mailServerId: server.mailServerId,
      scope: 'pair',
      status: 'active',
      ticketRef: 'CS-1',
      heloHostname: server.heloHostname,
      addresses: server.addresses,
      override: false,
      approvalReasons: [],
      requestedBy: t.keys.csr.id,
      requestedByOwner: t.keys.csr.owner,
      approvedBy: null,
      approvedByOwner: null,
      matchCount: 0,
      lastMatchedAt: null,
      startsAt: clock.now().toISOString(),
      expiresAt: new Date(clock.now().getTime() + 90 * DAY).toISOString(),
    });
    expect(response.body.evidence).toMatchObject({ addressesProven: true, verifiedDomains: [server.domain], spfOnlyAddresses: [] });
    expect(response.body.evidence.addressEvidence[0]).toMatchObject({ method: 'ptr', proven: true });
    expect(moves.bumps).toBe(1);
    expect(moves.notified).toEqual([String(await feedVersion())]);
    const [event] = await auditTrail(t, response.body.id);
    expect(event).toMatchObject({ action: 'exception.granted', actor: { id: t.keys.csr.id, owner: t.keys.csr.owner }, after: { status: 'active' } });
    expect(event!.after.evidence.addressesProven).toBe(true);
  });

  it('refuses a grant whose ownership is not proven, naming what is missing, and writes nothing', async () => {
    const server = await provenMailServer(t, dns);
    const bare = await createMailServer(t, server.organizationId, { addresses: ['192.0.2.200'] });
    const before = await t.prisma.exception.count();
    const moves = await feedMoves(async () => {
      const refused = await grant(t.keys.csr, { mailServerId: bare.id, reason: 'no proof here' }).expect(422);
      expect(refused.body.detail).toContain('192.0.2.200/32');
      const csrOverride = await grant(t.keys.csr, { mailServerId: bare.id, reason: 'trust me', justification: 'customer is known to us for years' }).expect(422);
      expect(csrOverride.body.detail).toContain('only an admin');
    });
    expect(moves.bumps).toBe(0);
    expect(await t.prisma.exception.count()).toBe(before);
  });

  it('an admin override waits for a second admin: same key 403, the same person\'s other key 403, a csr 403, another admin approves', async () => {
    const server = await provenMailServer(t, dns);
    const bare = await createMailServer(t, server.organizationId, { addresses: ['192.0.2.201'] });
    const requested = await grant(t.keys.admin, {
      mailServerId: bare.id,
      reason: 'relay of a partner we vouch for',
      justification: 'contract 2026-17; partner DNS fixed next month',
    }).expect(201);
    expect(requested.body).toMatchObject({ status: 'pending_approval', override: true, approvalReasons: ['override'] });
    expect(requested.body.evidence.addressesProven).toBe(false);
    const moves = await feedMoves(async () => {
      expect((await act(t.keys.admin, requested.body.id, 'approve').expect(403)).body.detail).toContain('four eyes');
      expect((await act(t.keys.adminAgain, requested.body.id, 'approve').expect(403)).body.detail).toContain('four eyes');
      expect((await act(t.keys.csr, requested.body.id, 'approve').expect(403)).body.detail).toContain('admin');
    });
    expect(moves.bumps).toBe(0);
    const approved = await feedMoves(async () => {
      const response = await act(t.keys.admin2, requested.body.id, 'approve').expect(200);
      expect(response.body).toMatchObject({ status: 'active', approvedBy: t.keys.admin2.id, approvedByOwner: t.keys.admin2.owner, requestedByOwner: t.keys.admin.owner });
    });
    expect(approved.bumps).toBe(1);
    const history = await t.http.get(`/v1/exceptions/${requested.body.id}/history`).set(bearer(t.keys.auditor)).expect(200);
    expect(history.body.map((event: { action: string }) => event.action)).toEqual(['exception.requested', 'exception.approved']);
    expect(history.body[1].actor).toMatchObject({ id: t.keys.admin2.id, owner: t.keys.admin2.owner });
  });

  it('sends helo scope, SPF-only proof, wide prefixes and long durations to approval; a csr may approve all but helo', async () => {
    const helo = await provenMailServer(t, dns);
    const heloGrant = await grant(t.keys.csr, { mailServerId: helo.mailServerId, scope: 'helo', reason: 'roaming laptops of the sales team' }).expect(201);
    expect(heloGrant.body).toMatchObject({ status: 'pending_approval', approvalReasons: ['helo_scope'] });
    await act(t.keys.csr2, heloGrant.body.id, 'approve').expect(403);

    const wide = await provenMailServer(t, dns, { addresses: ['198.51.100.0/23'] });
    const wideGrant = await grant(t.keys.csr, { mailServerId: wide.mailServerId, scope: 'ip', reason: 'outbound cluster' }).expect(201);
    // PTR cannot prove a prefix: it rests on SPF alone as well.
    expect(wideGrant.body.approvalReasons).toEqual(['spf_only', 'wide_prefix']);
    await act(t.keys.csr2, wideGrant.body.id, 'approve').expect(200);

    const long = await provenMailServer(t, dns);
    const longGrant = await grant(t.keys.csr, {
      mailServerId: long.mailServerId,
      reason: 'migration takes a year',
      expiresAt: new Date(clock.now().getTime() + 200 * DAY).toISOString(),
    }).expect(201);
    expect(longGrant.body.approvalReasons).toEqual(['long_duration']);
    const rejected = await feedMoves(async () => {
      await act(t.keys.csr, longGrant.body.id, 'reject', { reason: 'too long' }).expect(403);
      const response = await act(t.keys.csr2, longGrant.body.id, 'reject', { reason: 'a year is too long; ask for 90 days' }).expect(200);
      expect(response.body).toMatchObject({
        status: 'rejected',
        rejectedBy: t.keys.csr2.id,
        rejectedByOwner: t.keys.csr2.owner,
        rejectionReason: 'a year is too long; ask for 90 days',
      });
    });
    expect(rejected.bumps).toBe(0);
    await act(t.keys.csr2, longGrant.body.id, 'approve').expect(409);
  });

  it('checks the window: past or beyond-maximum expiry is 422, one running exception per server and scope (409)', async () => {
    const server = await provenMailServer(t, dns);
    await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'x'.repeat(5), expiresAt: new Date(clock.now().getTime() - 1).toISOString() }).expect(422);
    const tooLong = await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'forever', expiresAt: new Date(clock.now().getTime() + 366 * DAY).toISOString() }).expect(422);
    expect(tooLong.body.detail).toContain('EXCEPTION_MAX_DAYS');
    await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'first' }).expect(201);
    await grant(t.keys.csr2, { mailServerId: server.mailServerId, reason: 'second' }).expect(409);
    await grant(t.keys.csr, { mailServerId: randomUUID(), reason: 'nobody' }).expect(404);
    await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'x', scope: 'everything' }).expect(400);
  });

  it('revokes with a reason (feed bumped), renews within the rules, and asks approval for a long renewal', async () => {
    const server = await provenMailServer(t, dns);
    const granted = await grant(t.keys.csr, {
      mailServerId: server.mailServerId,
      reason: 'fix planned',
      expiresAt: new Date(clock.now().getTime() + 30 * DAY).toISOString(),
    }).expect(201);
    const renewed = await feedMoves(async () => {
      const response = await act(t.keys.csr, granted.body.id, 'renew', { expiresAt: new Date(clock.now().getTime() + 60 * DAY).toISOString() }).expect(200);
      expect(response.body.expiresAt).toBe(new Date(clock.now().getTime() + 60 * DAY).toISOString());
      expect(response.headers.etag).toBe('"2"');
    });
    expect(renewed.bumps).toBe(1);
    // Not later than now: refused.
    await act(t.keys.csr, granted.body.id, 'renew', { expiresAt: new Date(clock.now().getTime() + DAY).toISOString() }).expect(422);
    const askLong = await feedMoves(async () => {
      const response = await act(t.keys.csr, granted.body.id, 'renew', { expiresAt: new Date(clock.now().getTime() + 180 * DAY).toISOString() }).expect(200);
      expect(response.body.status).toBe('active');
      expect(response.body.expiresAt).toBe(new Date(clock.now().getTime() + 60 * DAY).toISOString());
      expect(response.body.renewal).toEqual({
        expiresAt: new Date(clock.now().getTime() + 180 * DAY).toISOString(),
        requestedBy: t.keys.csr.id,
        requestedByOwner: t.keys.csr.owner,
        approvalReasons: ['long_duration'],
      });
    });
    expect(askLong.bumps).toBe(0);
    await act(t.keys.csr, granted.body.id, 'approve').expect(403);
    const approved = await act(t.keys.csr2, granted.body.id, 'approve').expect(200);
    expect(approved.body).toMatchObject({ renewal: null, expiresAt: new Date(clock.now().getTime() + 180 * DAY).toISOString() });

    await act(t.keys.csr, granted.body.id, 'revoke', {}).expect(400);
    await t.http.post(`/v1/exceptions/${granted.body.id}/revoke`).set(bearer(t.keys.csr)).set('if-match', '"1"').send({ reason: 'stale tag' }).expect(412);
    const revoked = await feedMoves(async () => {
      const response = await act(t.keys.csr, granted.body.id, 'revoke', { reason: 'customer fixed the HELO name' }).expect(200);
      expect(response.body).toMatchObject({ status: 'revoked', revokedBy: t.keys.csr.id, revokeReason: 'customer fixed the HELO name' });
    });
    expect(revoked.bumps).toBe(1);
    await act(t.keys.csr, granted.body.id, 'revoke', { reason: 'again' }).expect(409);
    const history = await t.http.get(`/v1/exceptions/${granted.body.id}/history`).set(bearer(t.keys.auditor)).expect(200);
    expect(history.body.map((event: { action: string }) => event.action)).toEqual([
      'exception.granted',
      'exception.renewed',
      'exception.renewal_requested',
      'exception.renewal_approved',
      'exception.revoked',
    ]);
  });

  it('of two people approving, or approving and revoking, at once exactly one wins and the audit shows just that', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['198.51.96.0/22'] });
    const pending = await grant(t.keys.csr, { mailServerId: server.mailServerId, scope: 'ip', reason: 'cluster' }).expect(201);
    const [a, b] = await Promise.all([act(t.keys.csr2, pending.body.id, 'approve'), act(t.keys.admin, pending.body.id, 'approve')]);
    expect([a!.status, b!.status].sort()).toEqual([200, 409]);
    let history = (await t.http.get(`/v1/exceptions/${pending.body.id}/history`).set(bearer(t.keys.auditor)).expect(200)).body;
    expect(history.map((event: { action: string }) => event.action)).toEqual(['exception.requested', 'exception.approved']);

    const other = await provenMailServer(t, dns, { addresses: ['203.0.112.0/22'] });
    const second = await grant(t.keys.csr, { mailServerId: other.mailServerId, scope: 'ip', reason: 'cluster' }).expect(201);
    const results = await Promise.all([act(t.keys.csr2, second.body.id, 'approve'), act(t.keys.admin, second.body.id, 'revoke', { reason: 'not needed' })]);
    const statuses = results.map((result) => result.status);
    history = (await t.http.get(`/v1/exceptions/${second.body.id}/history`).set(bearer(t.keys.auditor)).expect(200)).body;
    const final = (await t.http.get(`/v1/exceptions/${second.body.id}`).set(bearer(t.keys.csr)).expect(200)).body;
    if (statuses[0] === 200 && statuses[1] === 200) {
      // Approved first, then revoked: both happened, in that order.
      expect(history.map((event: { action: string }) => event.action)).toEqual(['exception.requested', 'exception.approved', 'exception.revoked']);
    } else {
      expect(statuses.sort()).toEqual([200, 409]);
      expect(history).toHaveLength(2);
    }
    expect(['active', 'revoked']).toContain(final.status);
  });

  it('expires at the exact instant, even before the worker records it; the worker then audits it as system:worker', async () => {
    const server = await provenMailServer(t, dns);
    const expiresAt = new Date(clock.now().getTime() + DAY);
    const granted = await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'one day', expiresAt: expiresAt.toISOString() }).expect(201);
    const start = clock.now();
    try {
      clock.set(new Date(expiresAt.getTime() - 1));
      expect((await t.http.get(`/v1/exceptions/${granted.body.id}`).set(bearer(t.keys.csr))).body.status).toBe('active');
      clock.set(expiresAt);
      expect((await t.http.get(`/v1/exceptions/${granted.body.id}`).set(bearer(t.keys.csr))).body.status).toBe('expired');
      const listed = await t.http.get('/v1/exceptions').query({ mailServerId: server.mailServerId, status: 'expired' }).set(bearer(t.keys.csr)).expect(200);
      expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([granted.body.id]);
      const moves = await feedMoves(() => t.app.get(ExceptionDecisionsService).expireDue());
      expect(moves.bumps).toBe(1);
      const [, expired] = await auditTrail(t, granted.body.id);
      expect(expired).toMatchObject({ action: 'exception.expired', actor: { name: 'system:worker', id: null } });
      await act(t.keys.csr, granted.body.id, 'renew', { expiresAt: new Date(expiresAt.getTime() + DAY).toISOString() }).expect(409);
    } finally {
      clock.set(start);
    }
  });

  it('suspending the organization suspends its active exceptions; reactivating restores them (feed bumped each way)', async () => {
    const server = await provenMailServer(t, dns);
    const granted = await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'until fixed' }).expect(201);
    const suspended = await feedMoves(() => t.http.post(`/v1/organizations/${server.organizationId}/suspend`).set(bearer(t.keys.csr)).expect(200));
    expect(suspended.bumps).toBe(1);
    expect((await t.http.get(`/v1/exceptions/${granted.body.id}`).set(bearer(t.keys.csr))).body).toMatchObject({ status: 'suspended', suspensionCause: 'organization' });
    await grant(t.keys.csr, { mailServerId: server.mailServerId, scope: 'ip', reason: 'while suspended' }).expect(422);
    const restored = await feedMoves(() => t.http.post(`/v1/organizations/${server.organizationId}/reactivate`).set(bearer(t.keys.csr)).expect(200));
    expect(restored.bumps).toBe(1);
    const actions = (await auditTrail(t, granted.body.id)).map((event) => event.action);
    expect(actions).toEqual(['exception.granted', 'exception.suspended', 'exception.restored']);

    // An organization with nothing in the list: its status changes move nothing.
    const quiet = await provenMailServer(t, dns);
    const none = await feedMoves(() => t.http.post(`/v1/organizations/${quiet.organizationId}/suspend`).set(bearer(t.keys.csr)).expect(200));
    expect(none.bumps).toBe(0);
    // Nor do changes that leave the list as it is.
    const unchanged = await feedMoves(async () => {
      await t.http.patch(`/v1/organizations/${server.organizationId}`).set(bearer(t.keys.csr)).send({ notes: 'called twice' }).expect(200);
      await t.http.patch(`/v1/mail-servers/${server.mailServerId}`).set(bearer(t.keys.csr)).send({ description: 'basement' }).expect(200);
    });
    expect(unchanged.bumps).toBe(0);
    // A server with a running exception cannot be deleted under it.
    const blocked = await t.http.delete(`/v1/mail-servers/${server.mailServerId}`).set(bearer(t.keys.csr)).expect(409);
    expect(blocked.body.detail).toContain('revoke them first');
  });

  it('a lapse of the domain the proof rests on suspends the exception; re-verification restores it', async () => {
    const server = await provenMailServer(t, dns);
    const granted = await grant(t.keys.csr, { mailServerId: server.mailServerId, reason: 'rests on SPF' }).expect(201);
    const domains = t.app.get(DomainsService);
    const worker = { actor: { id: null, name: 'system:worker', role: 'system' as const, owner: null } };
    const domain = await t.prisma.domain.findUniqueOrThrow({ where: { id: server.domainId } });
    const recordName = `_mailmax-challenge.${server.domain}`;
    const start = clock.now().getTime();
    try {
      dns.remove(recordName);
      for (const hours of [24, 48, 72, 96]) {
        clock.set(new Date(start + hours * 3_600_000));
        await domains.check(domain.id, 'recheck', worker);
      }
      expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } })).status).toBe('lapsed');
      expect((await t.http.get(`/v1/exceptions/${granted.body.id}`).set(bearer(t.keys.csr))).body).toMatchObject({ status: 'suspended', suspensionCause: 'domain' });
      dns.txt(recordName, [`mailmax-verification=${domain.challengeToken}`]);
      clock.set(new Date(start + 100 * 3_600_000));
      await domains.check(domain.id, 'recheck', worker);
      expect((await t.http.get(`/v1/exceptions/${granted.body.id}`).set(bearer(t.keys.csr))).body.status).toBe('active');
      const actions = (await auditTrail(t, granted.body.id)).map((event) => [event.action, event.actor.name]);
      expect(actions).toEqual([
        ['exception.granted', t.keys.csr.name],
        ['exception.suspended', 'system:worker'],
        ['exception.restored', 'system:worker'],
      ]);
    } finally {
      clock.set(new Date(start));
    }
  });

  it('replays a grant sent twice with the same Idempotency-Key', async () => {
    const server = await provenMailServer(t, dns);
    const key = randomUUID();
    const body = { mailServerId: server.mailServerId, reason: 'sent twice by a flaky proxy' };
    const first = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).set('idempotency-key', key).send(body).expect(201);
    const moves = await feedMoves(async () => {
      const again = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).set('idempotency-key', key).send(body).expect(201);
      expect(again.body.id).toBe(first.body.id);
    });
    expect(moves.bumps).toBe(0);
    expect(await t.prisma.exception.count({ where: { mailServerId: server.mailServerId } })).toBe(1);
  });

  it('filters the list by organization, status, scope, HELO, address, time and requester', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['192.0.2.64/28'] });
    const pair = await grant(t.keys.csr2, { mailServerId: server.mailServerId, reason: 'pair scope' }).expect(201);
    // A prefix rests on SPF alone: another person accepts it.
    await act(t.keys.csr, pair.body.id, 'approve').expect(200);
    const ip = await grant(t.keys.csr, { mailServerId: server.mailServerId, scope: 'ip', reason: 'ip scope', startsAt: new Date(clock.now().getTime() + DAY).toISOString() }).expect(201);
    const query = (q: Record<string, string>) =>
      t.http.get('/v1/exceptions').query({ organizationId: server.organizationId, ...q }).set(bearer(t.keys.auditor)).expect(200).then((r) => r.body.items.map((i: { id: string }) => i.id));
    expect(await query({})).toEqual([ip.body.id, pair.body.id]);
    expect(await query({ scope: 'ip' })).toEqual([ip.body.id]);
    expect(await query({ helo: server.heloHostname.toUpperCase() })).toEqual([ip.body.id, pair.body.id]);
    expect(await query({ address: '192.0.2.70' })).toEqual([ip.body.id, pair.body.id]);
    expect(await query({ address: '192.0.2.99' })).toEqual([]);
    expect(await query({ activeAt: clock.now().toISOString() })).toEqual([pair.body.id]);
    expect(await query({ expiresBefore: new Date(clock.now().getTime() + 90 * DAY + 1).toISOString() })).toEqual([pair.body.id]);
    expect(await query({ requestedBy: t.keys.csr2.id })).toEqual([pair.body.id]);
    expect(await query({ status: 'active', limit: '1' })).toHaveLength(1);
    await t.http.get('/v1/exceptions').query({ address: 'nope' }).set(bearer(t.keys.csr)).expect(400);
  });
});
