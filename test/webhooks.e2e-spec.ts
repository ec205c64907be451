import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotificationEventType, ManualClock, NOTIFICATION_EVENT_TYPES, TIMED_EVENT_TYPES } from '@app/domain';
import { NotificationDeliveryService, retryDelaySeconds } from '@app/notifications';
import { DatabaseStateReader } from './support/database-state.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { auditTrail, bearer, randomIpv4, startIsolatedTestApp, type TestApp } from './support/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';
import { organizationWithEvents, signatureHeaders, subscribe } from './support/webhooks.js';

describe('webhooks', () => {
  let dns: TestDnsServer;
  let receiver: WebhookReceiver;
  let t: TestApp & { databaseUrl: string };
  const clock = new ManualClock();
  const admin = () => bearer(t.keys.admin);
  const round = () => t.app.get(NotificationDeliveryService).runOnce();
  const deliveries = async (id: string, query: Record<string, string> = {}) =>
    (await t.http.get(`/v1/webhooks/${id}/deliveries`).query(query).set(admin()).expect(200)).body.items as Array<Record<string, any>>;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    receiver = await startWebhookReceiver();
    t = await startIsolatedTestApp(
      { DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_RETRY_BASE_SECONDS: '30' },
      clock,
    );
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.stop();
    await dns?.stop();
  });

  it('subscribes with a whsec_ secret shown once: never again, not on a replay, nowhere in the database or the logs', async () => {
    const org = await organizationWithEvents(t, dns);
    const idempotencyKey = randomUUID();
    const body = { url: receiver.url('/secret'), events: ['domain.verified', 'exception.expiring'], organizationId: org.id };
    const created = await t.http.post('/v1/webhooks').set(admin()).set('idempotency-key', idempotencyKey).send(body).expect(201);
    expect(created.body).toMatchObject({ url: body.url, events: body.events, organizationId: org.id, createdByOwner: t.keys.admin.owner, deletedAt: null });
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const replay = await t.http.post('/v1/webhooks').set(admin()).set('idempotency-key', idempotencyKey).send(body).expect(201);
    expect(replay.body).toMatchObject({ id: created.body.id, secret: null, secretShownOnce: true });
    const read = await t.http.get(`/v1/webhooks/${created.body.id}`).set(admin()).expect(200);
    expect(read.body).not.toHaveProperty('secret');
    const listed = await t.http.get('/v1/webhooks').set(admin()).expect(200);
    expect(listed.body.items.find((item: { id: string }) => item.id === created.body.id)).not.toHaveProperty('secret');
    expect((await auditTrail(t, created.body.id)).map((event) => event.action)).toEqual(['webhook.created']);

    // It is used (signed with) once, so every layer that could leak it has had the chance.
    await org.verifyDomain();
    await round();
    expect(receiver.to('/secret')).toHaveLength(1);
    const client = new pg.Client({ connectionString: t.databaseUrl });
    await client.connect();
    try {
      const tables = (await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`)).rows;
      const dump: string[] = [];
      for (const { name } of tables) {
        dump.push(...(await client.query<{ row: string }>(`SELECT t::text AS row FROM ${pg.escapeIdentifier(name)} t`)).rows.map((row) => row.row));
      }
      const stored = dump.join('\n');
      expect(stored).toContain(created.body.id);
      for (const text of [stored, t.logs.text]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(secret.slice('whsec_'.length, 30));
      }
    } finally {
      await client.end();
    }
  });

  it('writes the event in the transaction of the change, delivers it signed (Standard Webhooks), and only the types subscribed', async () => {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const hook = await subscribe(t, { url: receiver.url('/granted'), events: ['exception.granted'], organizationId: server.organizationId });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { entityId: granted.body.id, action: 'exception.granted' } });
    // The outbox row names the audit event it follows from: both committed together.
    const event = await t.prisma.notificationEvent.findFirstOrThrow({ where: { auditEventId: audit.id } });
    expect(event).toMatchObject({ type: 'exception.granted', organizationId: server.organizationId, occurredAt: audit.occurredAt, dispatchedAt: null });

    expect(await round()).toMatchObject({ delivered: 1 });
    const [request] = receiver.to('/granted');
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['webhook-id']).toBe(event.id);
    const payload = new Webhook(hook.secret).verify(request!.body, signatureHeaders(request!.headers)) as Record<string, any>;
    expect(payload).toMatchObject({
      type: 'exception.granted',
      timestamp: audit.occurredAt.toISOString(),
      data: {
        exception: { id: granted.body.id, status: 'active', heloHostname: server.heloHostname, addresses: server.addresses },
        organization: { id: server.organizationId },
        actor: { name: t.keys.csr.name, role: 'csr' },
      },
    });
    // The proof stays in the audit trail.
    expect(payload.data.exception).not.toHaveProperty('evidence');
    // A signature made with another secret, or over other bytes, does not verify.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(request!.body, signatureHeaders(request!.headers))).toThrow();
    expect(() => new Webhook(hook.secret).verify(`${request!.body} `, signatureHeaders(request!.headers))).toThrow();

    const [logged] = await deliveries(hook.id);
    expect(logged).toMatchObject({
      eventId: event.id,
      eventType: 'exception.granted',
      status: 'succeeded',
      attemptCount: 1,
      nextAttemptAt: null,
      attempts: [{ outcome: 'delivered', statusCode: 200, error: null, target: hook.url }],
    });

    // A revocation is an event too, but not one this subscription asked for.
    await t.http.post(`/v1/exceptions/${granted.body.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'fixed' }).expect(200);
    expect(await t.prisma.notificationEvent.count({ where: { type: 'exception.revoked', organizationId: server.organizationId } })).toBe(1);
    await round();
    expect(receiver.to('/granted')).toHaveLength(1);
    expect(await deliveries(hook.id)).toHaveLength(1);
  });

  it('announces what a cascade does: suspending the organization suspends its exception, reactivating restores it', async () => {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const hook = await subscribe(t, { url: receiver.url('/cascade'), events: ['exception.suspended', 'exception.restored'], organizationId: server.organizationId });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
    await t.http.post(`/v1/organizations/${server.organizationId}/suspend`).set(bearer(t.keys.csr)).expect(200);
    await t.http.post(`/v1/organizations/${server.organizationId}/reactivate`).set(bearer(t.keys.csr)).expect(200);
    await round();
    const bodies = receiver.to('/cascade').map((request) => JSON.parse(request.body) as { type: string; data: { exception: { id: string; status: string } } });
    // Both are delivered in one round, side by side: in no particular order.
    expect(bodies.map((body) => [body.type, body.data.exception.id, body.data.exception.status]).sort()).toEqual([
      ['exception.restored', granted.body.id, 'active'],
      ['exception.suspended', granted.body.id, 'suspended'],
    ]);
    expect(await deliveries(hook.id)).toHaveLength(2);
  });

  it('retries a 5xx with exponential backoff on the clock, the same webhook-id each time, until it is delivered', async () => {
    const org = await organizationWithEvents(t, dns);
    const hook = await subscribe(t, { url: receiver.url('/flaky'), events: ['domain.verified'], organizationId: org.id });
    receiver.answer('/flaky', { status: 500, body: 'try later' }, { status: 502 }, { status: 204 });
    await org.verifyDomain();
    const start = clock.now().getTime();

    expect(await round()).toMatchObject({ retrying: 1, nextDueAt: new Date(start + 30_000) });
    let [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ status: 'pending', attemptCount: 1, lastError: 'HTTP 500: try later', nextAttemptAt: new Date(start + 30_000).toISOString() });
    await round(); // not due yet
    expect(receiver.to('/flaky')).toHaveLength(1);

    clock.advance(30_000);
    await round();
    expect(receiver.to('/flaky')).toHaveLength(2);
    [delivery] = await deliveries(hook.id);
    // The wait doubles: 30 s, then 60 s.
    expect(delivery).toMatchObject({ status: 'pending', attemptCount: 2, nextAttemptAt: new Date(start + 90_000).toISOString() });
    clock.advance(59_000);
    await round();
    expect(receiver.to('/flaky')).toHaveLength(2);
    clock.advance(1_000);
    await round();

    const requests = receiver.to('/flaky');
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(requests.map((request) => Number(request.headers['webhook-timestamp']) * 1000)).toEqual([start, start + 30_000, start + 90_000].map((ms) => Math.floor(ms / 1000) * 1000));
    for (const request of requests) {
      expect(() => new Webhook(hook.secret).verify(request.body, signatureHeaders(request.headers))).not.toThrow();
    }
    [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attemptCount: 3, lastError: null });
    expect(delivery!.attempts.map((attempt: { statusCode: number; outcome: string }) => [attempt.statusCode, attempt.outcome])).toEqual([
      [500, 'failed'],
      [502, 'failed'],
      [204, 'delivered'],
    ]);
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS; an admin replays the delivery (409 while it is pending, 404 for another)', async () => {
    const org = await organizationWithEvents(t, dns);
    const hook = await subscribe(t, { url: receiver.url('/down'), events: ['domain.verified'], organizationId: org.id });
    receiver.answer('/down', { status: 503 });
    await org.verifyDomain();
    const start = clock.now();
    try {
      for (let attempt = 1; attempt <= 8; attempt += 1) {
        await round();
        expect(receiver.to('/down')).toHaveLength(attempt);
        clock.advance(retryDelaySeconds(attempt, 30, 21_600) * 1000);
      }
      clock.advance(86_400_000);
      await round();
      expect(receiver.to('/down')).toHaveLength(8);
      const [failed] = await deliveries(hook.id);
      expect(failed).toMatchObject({ status: 'failed', attemptCount: 8, nextAttemptAt: null, lastError: 'HTTP 503' });
      expect(failed!.attempts).toHaveLength(8);

      receiver.answer('/down', { status: 200 });
      const replayed = await t.http.post(`/v1/webhooks/${hook.id}/deliveries/${failed!.id}/replay`).set(admin()).expect(202);
      expect(replayed.body).toMatchObject({ status: 'pending', replayOf: failed!.id, eventId: failed!.eventId, attemptCount: 0, attempts: [] });
      const again = await t.http.post(`/v1/webhooks/${hook.id}/deliveries/${replayed.body.id}/replay`).set(admin()).expect(409);
      expect(again.body.detail).toContain('still being attempted');
      await t.http.post(`/v1/webhooks/${hook.id}/deliveries/${randomUUID()}/replay`).set(admin()).expect(404);
      await round();

      const requests = receiver.to('/down');
      expect(requests).toHaveLength(9);
      expect(requests[8]!.headers['webhook-id']).toBe(failed!.eventId);
      expect(await deliveries(hook.id)).toMatchObject([
        { id: replayed.body.id, status: 'succeeded', replayOf: failed!.id },
        { id: failed!.id, status: 'failed' },
      ]);
      expect(await deliveries(hook.id, { status: 'failed' })).toMatchObject([{ id: failed!.id }]);
      expect((await auditTrail(t, hook.id)).map((event) => event.action)).toEqual(['webhook.created', 'webhook.delivery_replayed']);
    } finally {
      clock.set(start);
    }
  });

  it('follows redirects, checking each hop: to the receiver it delivers, to a link-local address it refuses without retrying', async () => {
    const org = await organizationWithEvents(t, dns);
    receiver.answer('/moved', { status: 307, location: '/final' });
    receiver.answer('/metadata', { status: 302, location: 'http://169.254.169.254/latest/meta-data/' });
    const moved = await subscribe(t, { url: receiver.url('/moved'), events: ['domain.verified'], organizationId: org.id });
    const metadata = await subscribe(t, { url: receiver.url('/metadata'), events: ['domain.verified'], organizationId: org.id });
    await org.verifyDomain();
    await round();

    expect(receiver.to('/final')).toHaveLength(1);
    expect(receiver.to('/final')[0]!.body).toBe(receiver.to('/moved')[0]!.body);
    expect(await deliveries(moved.id)).toMatchObject([{ status: 'succeeded', attempts: [{ outcome: 'delivered', target: receiver.url('/final') }] }]);

    const [refused] = await deliveries(metadata.id);
    expect(refused).toMatchObject({ status: 'failed', attemptCount: 1, attempts: [{ outcome: 'refused', statusCode: null, target: 'http://169.254.169.254/latest/meta-data/' }] });
    expect(refused!.lastError).toContain('169.254.169.254 is a link-local address');
    clock.advance(3_600_000);
    try {
      await round();
      expect((await deliveries(metadata.id))[0]).toMatchObject({ attemptCount: 1 });
    } finally {
      clock.advance(-3_600_000);
    }
  });

  it('DELETE stops deliveries (pending ones are cancelled); the subscription then answers 404', async () => {
    const org = await organizationWithEvents(t, dns);
    receiver.answer('/loop', { status: 302, location: '/loop' });
    const hook = await subscribe(t, { url: receiver.url('/loop'), events: ['domain.verified'], organizationId: org.id });
    await org.verifyDomain();
    await round();
    // The first request and three redirects, then the attempt ends; a retry is pending.
    expect(receiver.to('/loop')).toHaveLength(4);
    const [pending] = await deliveries(hook.id);
    expect(pending).toMatchObject({ status: 'pending', lastError: 'more than 3 redirects' });

    const deleted = await t.http.delete(`/v1/webhooks/${hook.id}`).set(admin()).expect(200);
    expect(deleted.body.deletedAt).not.toBeNull();
    expect(await t.prisma.notificationDelivery.findUniqueOrThrow({ where: { id: pending!.id } })).toMatchObject({ status: 'cancelled' });
    await t.http.get(`/v1/webhooks/${hook.id}`).set(admin()).expect(404);
    await t.http.get(`/v1/webhooks/${hook.id}/deliveries`).set(admin()).expect(404);
    await t.http.delete(`/v1/webhooks/${hook.id}`).set(admin()).expect(404);

    await org.verifyDomain();
    clock.advance(3_600_000);
    try {
      await round();
    } finally {
      clock.advance(-3_600_000);
    }
    expect(receiver.to('/loop')).toHaveLength(4);
    expect((await auditTrail(t, hook.id)).map((event) => event.action)).toEqual(['webhook.created', 'webhook.deleted']);
  });

  it('announces a grant that waited for approval as granted too, once it is approved, each type once', async () => {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const granted = await subscribe(t, { url: receiver.url('/approved-grant'), events: ['exception.granted'], organizationId: server.organizationId });
    const approvedHook = await subscribe(t, { url: receiver.url('/approved-only'), events: ['exception.approved'], organizationId: server.organizationId });
    const requested = await t.http
      .post('/v1/exceptions')
      .set(bearer(t.keys.csr))
      .send({ mailServerId: server.mailServerId, reason: 'migration takes a year', expiresAt: new Date(clock.now().getTime() + 200 * 86_400_000).toISOString() })
      .expect(201);
    expect(requested.body.status).toBe('pending_approval');
    await round();
    // Requested is not granted: nothing yet for either subscription.
    expect(receiver.to('/approved-grant')).toHaveLength(0);
    expect(receiver.to('/approved-only')).toHaveLength(0);

    await t.http.post(`/v1/exceptions/${requested.body.id}/approve`).set(bearer(t.keys.csr2)).send({}).expect(200);
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { entityId: requested.body.id, action: 'exception.approved' } });
    const events = await t.prisma.notificationEvent.findMany({ where: { auditEventId: audit.id }, orderBy: { type: 'asc' } });
    expect(events.map((event) => event.type)).toEqual(['exception.approved', 'exception.granted']);
    await round();
    const [grantRequest] = receiver.to('/approved-grant');
    const payload = new Webhook(granted.secret).verify(grantRequest!.body, signatureHeaders(grantRequest!.headers)) as Record<string, any>;
    expect(payload).toMatchObject({ type: 'exception.granted', data: { exception: { id: requested.body.id, status: 'active' } } });
    expect(receiver.to('/approved-grant')).toHaveLength(1);
    expect(receiver.to('/approved-only').map((request) => JSON.parse(request.body).type)).toEqual(['exception.approved']);
    expect(await deliveries(approvedHook.id)).toHaveLength(1);
  });

  it('maps audit actions to event types in the database: every type a change announces has its actions, and no action maps to an unknown type', async () => {
    const mapped = await t.prisma.notificationEventAction.findMany();
    expect(mapped.filter((row) => !isNotificationEventType(row.eventType))).toEqual([]);
    const announced = new Set(mapped.map((row) => row.eventType));
    expect(NOTIFICATION_EVENT_TYPES.filter((type) => !TIMED_EVENT_TYPES.includes(type) && !announced.has(type))).toEqual([]);
    // Actions that are not events (an API key minted, a webhook created) write nothing to the outbox.
    expect(mapped.map((row) => row.action)).not.toContain('webhook.created');
    expect(await t.prisma.notificationEvent.count({ where: { type: { startsWith: 'webhook.' } } })).toBe(0);
  });

  it('refuses bad subscriptions with a problem naming the field, writing nothing', async () => {
    const state = await DatabaseStateReader.open(t.databaseUrl);
    try {
      const before = await state.read();
      const refuse = async (body: Record<string, unknown>, status: number, text: string) => {
        const response = await t.http.post('/v1/webhooks').set(admin()).send(body).expect(status);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(JSON.stringify(response.body)).toContain(text);
        return response;
      };
      const url = receiver.url('/refused');
      await refuse({ url: 'not a url', events: ['domain.lapsed'] }, 400, 'url');
      await refuse({ url: 'ftp://hooks.example.net/', events: ['domain.lapsed'] }, 400, 'http:// or https://');
      const credentials = await refuse({ url: 'https://hook:hunter2secret@hooks.example.net/', events: ['domain.lapsed'] }, 400, 'user name or password');
      expect(JSON.stringify(credentials.body)).not.toContain('hunter2secret');
      await refuse({ url, events: ['exception.everything'] }, 400, 'events');
      await refuse({ url, events: [] }, 400, 'events');
      await refuse({ url, events: ['domain.lapsed'], organizationId: 'not-a-uuid' }, 400, 'organizationId');
      await refuse({ url, events: ['domain.lapsed'], organizationId: randomUUID() }, 404, 'organization not found');
      await refuse({ url, events: ['domain.lapsed'], secret: 'whsec_mine' }, 400, 'secret');
      expect(await state.read()).toEqual(before);
    } finally {
      await state.close();
    }
    expect(receiver.to('/refused')).toHaveLength(0);
  });
});
