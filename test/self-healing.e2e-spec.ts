import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { ManualClock } from '@app/domain';
import { SelfHealingService } from '@app/exceptions';
import { NotificationDeliveryService } from '@app/notifications';
import { startWorker } from '@app/worker';
import type { TestDnsServer } from './support/dns-server.js';
import { startNotificationBed, stopNotificationBed } from './support/notification-bed.js';
import { provenMailServer } from './support/ownership.js';
import type { TestSmtpServer } from './support/smtp-server.js';
import { auditTrail, bearer, randomIpv4, unique, type TestApp } from './support/test-app.js';
import type { WebhookReceiver } from './support/webhook-receiver.js';
import { subscribe } from './support/webhooks.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * Self-healing: a customer who fixes the server's HELO name sees the
 * exception retire by itself — marked no longer needed (announced by
 * webhook and e-mail), then revoked by the worker after the grace unless a
 * CSR kept it. DNS answers come from a real DNS server; time from the
 * injected clock.
 */
describe('exceptions that retire themselves when the HELO name is fixed', () => {
  let dns: TestDnsServer;
  let smtp: TestSmtpServer;
  let receiver: WebhookReceiver;
  let t: TestApp & { databaseUrl: string };
  const clock = new ManualClock();
  const start = clock.now().getTime();
  const at = (ms: number) => clock.set(new Date(start + ms));
  /** The worker's scheduled share of the sweep. */
  const sweep = () => t.app.get(SelfHealingService).checkDue();
  const round = () => t.app.get(NotificationDeliveryService).runOnce();
  const read = async (id: string) => (await t.http.get(`/v1/exceptions/${id}`).set(bearer(t.keys.auditor)).expect(200)).body;

  let env: Record<string, string>;

  beforeAll(async () => ({ dns, smtp, receiver, t, env } = await startNotificationBed({ EXCEPTION_MAX_DAYS: '365' }, clock)));
  afterEach(() => at(0));
  afterAll(() => stopNotificationBed({ t, receiver, smtp, dns }));

  /** An active exception for a server whose HELO name does not resolve (yet), with a technical contact. */
  async function brokenHeloException(): Promise<{ id: string; organizationId: string; helo: string; contact: string }> {
    const helo = `${unique('exch01')}.customer-net.example`;
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()], helo });
    const contact = `${unique('noc')}@customer.example`;
    await t.http.patch(`/v1/organizations/${server.organizationId}`).set(bearer(t.keys.csr)).send({ technicalContacts: [contact] }).expect(200);
    const expiresAt = new Date(clock.now().getTime() + 90 * DAY).toISOString();
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'HELO not in DNS', expiresAt }).expect(201);
    expect(granted.body).toMatchObject({ status: 'active', noLongerNeededSince: null, keptUntilExpiry: null });
    return { id: granted.body.id, organizationId: server.organizationId, helo, contact };
  }

  it('notices a HELO name fixed mid-exception, announces it, and revokes the exception after the grace', async () => {
    const exception = await brokenHeloException();
    await subscribe(t, { url: receiver.url('/healed'), events: ['exception.no_longer_needed', 'exception.revoked'], organizationId: exception.organizationId });

    at(1 * HOUR);
    await sweep();
    expect(await read(exception.id)).toMatchObject({ status: 'active', noLongerNeededSince: null, heloCheckedAt: new Date(start + HOUR).toISOString() });

    // The customer publishes an A record for the name the server announces.
    dns.a(exception.helo, ['203.0.113.25']);
    at(5 * HOUR);
    await sweep();
    expect((await read(exception.id)).noLongerNeededSince, 'not looked at again before the check interval').toBeNull();
    at(8 * HOUR);
    await sweep();
    const marked = await read(exception.id);
    expect(marked).toMatchObject({
      status: 'active',
      noLongerNeededSince: new Date(start + 8 * HOUR).toISOString(),
      noLongerNeededEvidence: { heloHostname: exception.helo, a: { status: 'ok', records: ['203.0.113.25'] }, mx: { status: 'nodata' } },
      keptUntilExpiry: null,
    });

    await round();
    const hooks = receiver.to('/healed').map((request) => JSON.parse(request.body));
    expect(hooks.map((hook) => hook.type)).toEqual(['exception.no_longer_needed']);
    expect(hooks[0].data.exception).toMatchObject({ id: exception.id, noLongerNeededSince: new Date(start + 8 * HOUR).toISOString() });
    expect(hooks[0].data.exception.revokesAt).toBe(new Date(start + 8 * HOUR + 14 * DAY).toISOString());
    expect(smtp.to(exception.contact).map((mail) => mail.subject)).toEqual([`[HeloPass] The HELO exception for ${exception.helo} is no longer needed`]);
    expect(smtp.to(exception.contact)[0]!.text).toContain(`will be withdrawn on ${new Date(start + 8 * HOUR + 14 * DAY).toISOString()}`);

    // Within the grace (SELF_HEALING_GRACE_DAYS, 14) it stays.
    at(8 * HOUR + 13 * DAY);
    await sweep();
    expect((await read(exception.id)).status).toBe('active');
    at(8 * HOUR + 14 * DAY + HOUR);
    await sweep();
    const revoked = await read(exception.id);
    expect(revoked).toMatchObject({ status: 'revoked', revokedBy: null, revokedAt: new Date(start + 8 * HOUR + 14 * DAY + HOUR).toISOString() });
    expect(revoked.revokeReason).toContain(`the HELO name ${exception.helo} has passed Postfix's HELO checks since ${new Date(start + 8 * HOUR).toISOString()}`);
    expect(revoked.revokeReason).toContain('A 203.0.113.25');
    // The feed follows the revocation once its NOTIFY has been applied (propagation, not the same request).
    await expect
      .poll(async () => JSON.stringify((await t.http.get('/v1/allowlist').set(bearer(t.keys.filter)).expect(200)).body), { timeout: 10_000, interval: 100 })
      .not.toContain(exception.id);

    const trail = await auditTrail(t, exception.id);
    expect(trail.map((event) => [event.action, event.actor.name])).toEqual([
      ['exception.granted', t.keys.csr.name],
      ['exception.no_longer_needed', 'system:worker'],
      ['exception.revoked', 'system:worker'],
    ]);
    await round();
    expect(receiver.to('/healed').map((request) => JSON.parse(request.body).type)).toEqual(['exception.no_longer_needed', 'exception.revoked']);
  });

  it('keeps an exception a CSR chose to keep until its expiry, and shows why', async () => {
    const exception = await brokenHeloException();
    dns.a(exception.helo, ['203.0.113.26']);
    at(1 * HOUR);
    await sweep();
    expect((await read(exception.id)).noLongerNeededSince).toBe(new Date(start + HOUR).toISOString());

    await t.http.post(`/v1/exceptions/${exception.id}/keep`).set(bearer(t.keys.csr)).send({}).expect(400);
    const kept = await t.http.post(`/v1/exceptions/${exception.id}/keep`).set(bearer(t.keys.csr2)).send({ reason: 'second site still announces the old name' }).expect(200);
    expect(kept.body.keptUntilExpiry).toEqual({
      reason: 'second site still announces the old name',
      by: t.keys.csr2.id,
      byOwner: t.keys.csr2.owner,
      at: new Date(start + HOUR).toISOString(),
    });
    await t.http.post(`/v1/exceptions/${exception.id}/keep`).set(bearer(t.keys.auditor)).send({ reason: 'no' }).expect(403);

    at(30 * DAY);
    await sweep();
    expect(await read(exception.id)).toMatchObject({ status: 'active', keptUntilExpiry: { reason: 'second site still announces the old name' } });
    expect((await auditTrail(t, exception.id)).map((event) => event.action)).toEqual(['exception.granted', 'exception.no_longer_needed', 'exception.kept']);

    // Ended exceptions have nothing to keep.
    await t.http.post(`/v1/exceptions/${exception.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'done' }).expect(200);
    const refused = await t.http.post(`/v1/exceptions/${exception.id}/keep`).set(bearer(t.keys.csr)).send({ reason: 'too late' }).expect(409);
    expect(refused.body.detail).toContain('revoked');
  });

  it('never counts DNS trouble as fixed; a name that breaks again clears the mark and nothing is revoked', async () => {
    const exception = await brokenHeloException();
    dns.servfail(exception.helo);
    at(1 * HOUR);
    await sweep();
    expect((await read(exception.id)).noLongerNeededSince, 'SERVFAIL is not "fixed"').toBeNull();
    dns.remove(exception.helo);
    dns.timeout(exception.helo);
    at(8 * HOUR);
    await sweep();
    expect((await read(exception.id)).noLongerNeededSince, 'a timeout is not "fixed"').toBeNull();

    dns.remove(exception.helo);
    dns.mx(exception.helo, [{ exchange: 'mail.customer-net.example', priority: 10 }]);
    at(16 * HOUR);
    await sweep();
    expect((await read(exception.id)).noLongerNeededSince).toBe(new Date(start + 16 * HOUR).toISOString());

    // Trouble while marked neither clears the mark nor lets the revocation through.
    dns.remove(exception.helo);
    dns.servfail(exception.helo);
    at(16 * HOUR + 15 * DAY);
    await sweep();
    expect(await read(exception.id)).toMatchObject({ status: 'active', noLongerNeededSince: new Date(start + 16 * HOUR).toISOString() });

    // The record is gone for real (NXDOMAIN): the exception is needed again.
    dns.remove(exception.helo);
    at(16 * HOUR + 16 * DAY);
    await sweep();
    expect(await read(exception.id)).toMatchObject({ status: 'active', noLongerNeededSince: null, noLongerNeededEvidence: null });
    at(16 * HOUR + 40 * DAY);
    await sweep();
    expect((await read(exception.id)).status).toBe('active');
    expect((await auditTrail(t, exception.id)).map((event) => event.action)).toEqual([
      'exception.granted',
      'exception.no_longer_needed',
      'exception.needed_again',
    ]);
  });

  it('runs the self-healing check on demand with POST /v1/exceptions/:id/recheck and answers what it saw', async () => {
    const exception = await brokenHeloException();
    const before = await t.http.post(`/v1/exceptions/${exception.id}/recheck`).set(bearer(t.keys.csr)).expect(200);
    expect(before.body.selfHealing).toMatchObject({ health: 'fails', a: { status: 'nxdomain' }, changed: null, noLongerNeededSince: null, revokesAt: null });

    dns.aaaa(exception.helo, ['2001:db8::25']);
    at(2 * HOUR);
    const after = await t.http.post(`/v1/exceptions/${exception.id}/recheck`).set(bearer(t.keys.csr)).expect(200);
    expect(after.body).toMatchObject({
      status: 'active',
      selfHealing: {
        health: 'passes',
        aaaa: { status: 'ok', records: ['2001:db8::25'] },
        changed: 'marked_no_longer_needed',
        noLongerNeededSince: new Date(start + 2 * HOUR).toISOString(),
        revokesAt: new Date(start + 2 * HOUR + 14 * DAY).toISOString(),
      },
    });
    const trail = await auditTrail(t, exception.id);
    expect(trail.at(-1)).toMatchObject({ action: 'exception.no_longer_needed', actor: { name: t.keys.csr.name } });

    at(2 * HOUR + 14 * DAY);
    const revoked = await t.http.post(`/v1/exceptions/${exception.id}/recheck`).set(bearer(t.keys.csr)).expect(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', selfHealing: { changed: 'revoked', revokesAt: null } });
    expect((await auditTrail(t, exception.id)).at(-1)).toMatchObject({ action: 'exception.revoked', actor: { name: 'system:worker' } });
  });

  it("runs in the worker's scheduled sweep (pg-boss): marks, then revokes after the grace, as system:worker", async () => {
    const exception = await brokenHeloException();
    const worker = await startWorker(loadConfig({ DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', ...env }), { clock, pollingIntervalSeconds: 0.5 });
    try {
      dns.a(exception.helo, ['203.0.113.27']);
      at(1 * HOUR);
      await worker.sweepNow();
      await expect.poll(async () => (await read(exception.id)).noLongerNeededSince, { timeout: 15_000, interval: 200 }).toBe(new Date(start + HOUR).toISOString());
      at(1 * HOUR + 14 * DAY);
      await worker.sweepNow();
      await expect.poll(async () => (await read(exception.id)).status, { timeout: 15_000, interval: 200 }).toBe('revoked');
      expect((await auditTrail(t, exception.id)).slice(1).map((event) => [event.action, event.actor.name])).toEqual([
        ['exception.no_longer_needed', 'system:worker'],
        ['exception.revoked', 'system:worker'],
      ]);
    } finally {
      await worker.stop();
    }
  });
});
