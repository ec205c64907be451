import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { ManualClock } from '@app/domain';
import { NotificationDeliveryService } from '@app/notifications';
import { startWorker, type RunningWorker } from '@app/worker';
import { DatabaseStateReader } from './support/database-state.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { bearer, startIsolatedTestApp, startTestApp, unique, type TestApp } from './support/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';
import { organizationWithEvents, signatureHeaders, subscribe } from './support/webhooks.js';

/** An address in the public internet's unicast space, never connected to here: every spec's DNS changes it before a delivery. */
const PUBLIC_ADDRESS = '93.184.215.14';

/**
 * Where webhooks may not go (DESIGN: delivery refused to loopback, private
 * and link-local addresses, checked after DNS resolution, on every redirect),
 * with WEBHOOK_ALLOW_PRIVATE_TARGETS off, set to one address, and on — three
 * app instances on one database, names answered by the test's DNS server.
 */
describe('webhook targets', () => {
  let dns: TestDnsServer;
  let receiver: WebhookReceiver;
  let open: TestApp & { databaseUrl: string };
  let strict: TestApp;
  let listed: TestApp;
  let worker: RunningWorker | undefined;
  const clock = new ManualClock();
  const dnsEnv = () => ({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });

  beforeAll(async () => {
    dns = await startTestDnsServer();
    receiver = await startWebhookReceiver();
    open = await startIsolatedTestApp({ ...dnsEnv(), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_TIMEOUT_MS: '500' }, clock);
    strict = await startTestApp({ ...dnsEnv(), DATABASE_URL: open.databaseUrl }, clock);
    listed = await startTestApp({ ...dnsEnv(), DATABASE_URL: open.databaseUrl, WEBHOOK_ALLOW_PRIVATE_TARGETS: '127.0.0.1' }, clock);
  });
  afterAll(async () => {
    await worker?.stop();
    await listed?.close();
    await strict?.close();
    await open?.close();
    await receiver?.stop();
    await dns?.stop();
  });

  const deliveries = async (t: TestApp, id: string) =>
    (await t.http.get(`/v1/webhooks/${id}/deliveries`).set(bearer(t.keys.admin)).expect(200)).body.items as Array<Record<string, any>>;

  it('by default refuses to subscribe a loopback, private or link-local target, by address or by name, and plain http to the internet', async () => {
    const internal = `${unique('internal')}.example.net`;
    const metadata = `${unique('metadata')}.example.net`;
    const plain = `${unique('plain')}.example.net`;
    dns.a(internal, ['10.0.0.1']);
    dns.a(metadata, [PUBLIC_ADDRESS]);
    dns.aaaa(metadata, ['fe80::1']);
    dns.a(plain, [PUBLIC_ADDRESS]);
    const state = await DatabaseStateReader.open(open.databaseUrl);
    try {
      const before = await state.read();
      for (const [url, detail] of [
        [receiver.url('/never'), '127.0.0.1 is a loopback address'],
        [`http://[::1]:${receiver.port}/never`, '::1 is a loopback address'],
        ['https://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
        [`https://${internal}/hook`, `${internal} resolves to 10.0.0.1, a private address`],
        // One bad address among several is enough: the connection could be steered to it.
        [`https://${metadata}/hook`, `${metadata} resolves to fe80::1, a link-local address`],
        [`http://${plain}/hook`, 'plain http is delivered only to internal receivers'],
      ] as const) {
        const refused = await strict.http.post('/v1/webhooks').set(bearer(strict.keys.admin)).send({ url, events: ['domain.lapsed'] }).expect(422);
        expect(refused.body.detail).toContain(detail);
        expect(refused.body.detail).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS');
      }
      expect(await state.read()).toEqual(before);
    } finally {
      await state.close();
    }
    expect(receiver.requests.filter((request) => request.path === '/never')).toHaveLength(0);
  });

  it('catches DNS rebinding: a name that resolved to a public address when subscribed and to 127.0.0.1 at delivery is refused, not reached', async () => {
    const name = `${unique('rebind')}.example.net`;
    dns.a(name, [PUBLIC_ADDRESS]);
    const org = await organizationWithEvents(strict, dns);
    const hook = await subscribe(strict, { url: `https://${name}:${receiver.port}/rebound`, events: ['domain.verified'], organizationId: org.id });
    dns.remove(name, 'A');
    dns.a(name, ['127.0.0.1']);
    await org.verifyDomain();
    await strict.app.get(NotificationDeliveryService).runOnce();

    const [refused] = await deliveries(strict, hook.id);
    expect(refused).toMatchObject({ status: 'failed', attemptCount: 1, attempts: [{ outcome: 'refused', statusCode: null }] });
    expect(refused!.lastError).toContain(`${name} resolves to 127.0.0.1, a loopback address`);
    expect(receiver.to('/rebound')).toHaveLength(0);
  });

  it('connects to the address it checked: a name only HeloPass\'s resolver knows is delivered to; once it points elsewhere, refused', async () => {
    const name = `${unique('pinned')}.example.net`;
    dns.a(name, ['127.0.0.1']);
    const org = await organizationWithEvents(listed, dns);
    // Plain http to an allowed internal receiver (127.0.0.1 is listed).
    const hook = await subscribe(listed, { url: `http://${name}:${receiver.port}/pinned`, events: ['domain.verified'], organizationId: org.id });
    await org.verifyDomain();
    const asked = dns.queries.filter((query) => query.name === name && query.type === 'A').length;
    await listed.app.get(NotificationDeliveryService).runOnce();

    // The system's resolver has never heard of the name: the connection went to the address our check resolved, asked once.
    const [request] = receiver.to('/pinned');
    expect(request!.headers.host).toBe(`${name}:${receiver.port}`);
    expect(() => new Webhook(hook.secret).verify(request!.body, signatureHeaders(request!.headers))).not.toThrow();
    expect(dns.queries.filter((query) => query.name === name && query.type === 'A').length - asked).toBe(1);

    // Each attempt resolves afresh: 127.0.0.2 is loopback too, but not the address allowed.
    dns.remove(name, 'A');
    dns.a(name, ['127.0.0.2']);
    clock.advance(1000);
    await org.verifyDomain();
    await listed.app.get(NotificationDeliveryService).runOnce();
    const [refused] = await deliveries(listed, hook.id);
    expect(refused).toMatchObject({ status: 'failed', attempts: [{ outcome: 'refused' }] });
    expect(refused!.lastError).toContain(`${name} resolves to 127.0.0.2, a loopback address`);
    expect(receiver.to('/pinned')).toHaveLength(1);
  });

  it('gives up an attempt the receiver does not answer within WEBHOOK_TIMEOUT_MS, and retries it later', async () => {
    const org = await organizationWithEvents(open, dns);
    receiver.answer('/hang', { status: 200, hang: true });
    const hook = await subscribe(open, { url: receiver.url('/hang'), events: ['domain.verified'], organizationId: org.id });
    await org.verifyDomain();
    await open.app.get(NotificationDeliveryService).runOnce();
    expect(receiver.to('/hang')).toHaveLength(1);
    expect(await deliveries(open, hook.id)).toMatchObject([{ status: 'pending', attemptCount: 1, lastError: 'no answer within 500 ms', attempts: [{ outcome: 'failed', statusCode: null }] }]);
    await open.http.delete(`/v1/webhooks/${hook.id}`).set(bearer(open.keys.admin)).expect(200);
  });

  it('is delivered by the worker\'s job queue as soon as the change commits', async () => {
    const org = await organizationWithEvents(open, dns);
    const hook = await subscribe(open, { url: receiver.url('/queued'), events: ['domain.verified'], organizationId: org.id });
    const config = loadConfig({ DATABASE_URL: open.databaseUrl, LOG_LEVEL: 'warn', ...dnsEnv(), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    worker = await startWorker(config, { clock, pollingIntervalSeconds: 0.5 });
    await org.verifyDomain();
    await expect.poll(() => receiver.to('/queued').length, { timeout: 15_000, interval: 100 }).toBe(1);
    // The receiver has it before the worker records the answer: wait for the record, not a moment.
    await expect.poll(async () => (await deliveries(open, hook.id))[0]?.status, { timeout: 15_000, interval: 100 }).toBe('succeeded');
    expect(await deliveries(open, hook.id)).toMatchObject([{ status: 'succeeded', attemptCount: 1 }]);
  });
});
