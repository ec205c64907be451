import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@app/domain';
import { NotificationDeliveryService, RemindersService } from '@app/notifications';
import { DomainsService } from '@app/ownership';
import type { TestDnsServer } from './support/dns-server.js';
import { startNotificationBed, stopNotificationBed } from './support/notification-bed.js';
import { provenMailServer } from './support/ownership.js';
import type { TestSmtpServer } from './support/smtp-server.js';
import { auditTrail, bearer, randomIpv4, unique, type TestApp } from './support/test-app.js';
import type { WebhookReceiver } from './support/webhook-receiver.js';
import { subscribe } from './support/webhooks.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WORKER = { actor: { id: null, name: 'system:worker', role: 'system' as const, owner: null } };

/**
 * What time produces (reminders before an expiry, a domain starting to fail,
 * approvals left waiting, unused exceptions), each exactly once, delivered by
 * webhook and e-mailed to the organization's technical contacts.
 */
describe('reminders and notifications over time', () => {
  let dns: TestDnsServer;
  let smtp: TestSmtpServer;
  let receiver: WebhookReceiver;
  let t: TestApp & { databaseUrl: string };
  const clock = new ManualClock();
  const start = clock.now().getTime();
  const at = (ms: number) => clock.set(new Date(start + ms));
  const sweep = () => t.app.get(RemindersService).produceDue();
  const round = () => t.app.get(NotificationDeliveryService).runOnce();
  const eventsAbout = (id: string, type: string) =>
    t.prisma.notificationEvent.findMany({ where: { type, occasionKey: { startsWith: `${type}:${id}:` } }, orderBy: { createdAt: 'asc' } });

  beforeAll(
    async () =>
      ({ dns, smtp, receiver, t } = await startNotificationBed(
        { STALE_EXCEPTION_POLICY: 'notify', DOMAIN_LAPSE_FAILURES: '2', DOMAIN_LAPSE_GRACE_HOURS: '24', EXCEPTION_APPROVAL_DAYS: '365' },
        clock,
      )),
  );
  afterEach(() => at(0));
  afterAll(() => stopNotificationBed({ t, receiver, smtp, dns }));

  /** An active exception of a new organization with technical contacts, expiring `days` from the clock's now. */
  async function activeException(days: number): Promise<{ id: string; organizationId: string; heloHostname: string; contact: string }> {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const contact = `${unique('noc')}@customer.example`;
    await t.http.patch(`/v1/organizations/${server.organizationId}`).set(bearer(t.keys.csr)).send({ technicalContacts: [` ${contact.toUpperCase()} `, 'second@customer.example'] }).expect(200);
    const expiresAt = new Date(clock.now().getTime() + days * DAY).toISOString();
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'fix pending', expiresAt }).expect(201);
    expect(granted.body.status).toBe('active');
    return { id: granted.body.id, organizationId: server.organizationId, heloHostname: server.heloHostname, contact };
  }

  it('reminds once at each lead time (14, 7, 1 days) by webhook and e-mail, whatever the number of sweeps', async () => {
    const exception = await activeException(20);
    const organization = await t.http.get(`/v1/organizations/${exception.organizationId}`).set(bearer(t.keys.auditor)).expect(200);
    expect(organization.body.technicalContacts).toEqual([exception.contact, 'second@customer.example']);
    const hook = await subscribe(t, { url: receiver.url('/expiring'), events: ['exception.expiring'], organizationId: exception.organizationId });
    const leads = async () => (await eventsAbout(exception.id, 'exception.expiring')).map((event) => (event.data as { leadDays: number }).leadDays);

    for (const [moment, expected] of [
      [5 * DAY, []],
      [6 * DAY - MINUTE, []],
      [6 * DAY + MINUTE, [14]],
      [12 * DAY, [14]],
      [13 * DAY + MINUTE, [14, 7]],
      [19 * DAY + MINUTE, [14, 7, 1]],
      [20 * DAY + MINUTE, [14, 7, 1]],
    ] as const) {
      at(moment);
      await sweep();
      await sweep();
      expect(await leads(), `at day ${moment / DAY}`).toEqual(expected);
      await round();
    }

    const requests = receiver.to('/expiring');
    expect(requests.map((request) => JSON.parse(request.body).data.leadDays)).toEqual([14, 7, 1]);
    expect(JSON.parse(requests[0]!.body)).toMatchObject({
      type: 'exception.expiring',
      data: { exception: { id: exception.id, heloHostname: exception.heloHostname }, organization: { id: exception.organizationId }, expiresAt: new Date(start + 20 * DAY).toISOString() },
    });
    expect((await t.http.get(`/v1/webhooks/${hook.id}/deliveries`).set(bearer(t.keys.admin)).expect(200)).body.items).toHaveLength(3);

    // The organization's contacts got the same three reminders, through the SMTP relay.
    const mails = smtp.to(exception.contact);
    expect(mails.map((mail) => mail.subject)).toEqual([
      `[HeloPass] The HELO exception for ${exception.heloHostname} expires in 14 days`,
      `[HeloPass] The HELO exception for ${exception.heloHostname} expires in 7 days`,
      `[HeloPass] The HELO exception for ${exception.heloHostname} expires in 1 day`,
    ]);
    expect(mails[0]).toMatchObject({ from: 'helopass@provider.example', to: [exception.contact, 'second@customer.example'] });
    expect(mails[0]!.text).toContain('If you need more time, ask us to renew the exception.');
  });

  it('sends only the most urgent reminder due (a grant with 5 days left is not told "14 days"); a renewal starts them again', async () => {
    const short = await activeException(5);
    await sweep();
    expect((await eventsAbout(short.id, 'exception.expiring')).map((event) => (event.data as { leadDays: number }).leadDays)).toEqual([7]);

    const renewed = await activeException(10);
    at(4 * DAY);
    await sweep();
    expect(await eventsAbout(renewed.id, 'exception.expiring')).toHaveLength(1);
    await t.http.post(`/v1/exceptions/${renewed.id}/renew`).set(bearer(t.keys.csr)).send({ expiresAt: new Date(start + 40 * DAY).toISOString() }).expect(200);
    await sweep();
    expect(await eventsAbout(renewed.id, 'exception.expiring')).toHaveLength(1);
    at(26 * DAY + MINUTE);
    await sweep();
    const events = await eventsAbout(renewed.id, 'exception.expiring');
    expect(events.map((event) => [(event.data as { leadDays: number }).leadDays, (event.data as { expiresAt: string }).expiresAt])).toEqual([
      [7, new Date(start + 10 * DAY).toISOString()],
      [14, new Date(start + 40 * DAY).toISOString()],
    ]);
  });

  it('tells when a verified domain starts failing, lapses and recovers — each once, by webhook and to the contacts', async () => {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const contact = `${unique('dns')}@customer.example`;
    await t.http.patch(`/v1/organizations/${server.organizationId}`).set(bearer(t.keys.csr)).send({ technicalContacts: [contact] }).expect(200);
    const hook = await subscribe(t, { url: receiver.url('/domain'), events: ['domain.failing', 'domain.lapsed', 'domain.recovered'], organizationId: server.organizationId });
    const domain = (await t.http.get(`/v1/domains/${server.domainId}`).set(bearer(t.keys.csr)).expect(200)).body;
    const domains = t.app.get(DomainsService);
    await round();

    dns.remove(domain.challenge.recordName);
    for (const hours of [24, 36, 48]) {
      at(hours * HOUR);
      await domains.check(server.domainId, 'recheck', WORKER);
      await round();
    }
    dns.txt(domain.challenge.recordName, [domain.challenge.recordValue]);
    at(50 * HOUR);
    await domains.check(server.domainId, 'recheck', WORKER);
    await domains.check(server.domainId, 'recheck', WORKER);
    await round();

    const types = ['domain.failing', 'domain.lapsed', 'domain.recovered'];
    const events = await t.prisma.notificationEvent.findMany({ where: { organizationId: server.organizationId, type: { in: types } }, orderBy: { occurredAt: 'asc' } });
    expect(events.map((event) => [event.type, event.occurredAt.getTime()])).toEqual([
      ['domain.failing', start + 24 * HOUR],
      ['domain.lapsed', start + 48 * HOUR],
      ['domain.recovered', start + 50 * HOUR],
    ]);
    expect(receiver.to('/domain').map((request) => JSON.parse(request.body).type)).toEqual(types);
    expect(JSON.parse(receiver.to('/domain')[0]!.body).data.domain).toMatchObject({ id: server.domainId, status: 'verified' });
    expect((await t.http.get(`/v1/webhooks/${hook.id}/deliveries`).set(bearer(t.keys.admin)).expect(200)).body.items).toHaveLength(3);
    const mails = smtp.to(contact);
    expect(mails.map((mail) => mail.subject)).toEqual([
      `[HeloPass] The verification record of ${server.domain} is missing`,
      `[HeloPass] ${server.domain} is no longer verified`,
      `[HeloPass] ${server.domain} is verified again`,
    ]);
    expect(mails[0]!.text).toContain(`Our last check did not find the TXT record ${domain.challenge.recordName} with the value ${domain.challenge.recordValue}.`);
    expect((await auditTrail(t, server.domainId)).map((event) => event.action)).toEqual([
      'domain.created',
      'domain.verified',
      'domain.failing',
      'domain.lapsed',
      'domain.recovered',
    ]);
  });

  it('announces an exception or a domain override left waiting for approval longer than APPROVAL_WAITING_HOURS, once', async () => {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()], proof: 'spf' });
    const pending = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr2)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
    expect(pending.body.status).toBe('pending_approval');
    const claim = await t.http.post(`/v1/organizations/${server.organizationId}/domains`).set(bearer(t.keys.csr)).send({ name: `${unique('asked')}.example.com` }).expect(201);
    await t.http.post(`/v1/domains/${claim.body.id}/override`).set(bearer(t.keys.admin2)).send({ justification: 'shown on a call', expiresAt: new Date(start + 30 * DAY).toISOString() }).expect(200);
    const waiting = () =>
      t.prisma.notificationEvent.findMany({
        where: { OR: [{ occasionKey: `exception.approval_waiting:${pending.body.id}` }, { occasionKey: { startsWith: `domain.override_approval_waiting:${claim.body.id}:` } }] },
      });

    at(23 * HOUR);
    await sweep();
    expect(await waiting()).toHaveLength(0);
    at(25 * HOUR);
    await sweep();
    await sweep();
    const events = await waiting();
    expect(events.map((event) => event.type).sort()).toEqual(['domain.override_approval_waiting', 'exception.approval_waiting']);
    expect(events.find((event) => event.type === 'exception.approval_waiting')!.data).toMatchObject({
      exception: { id: pending.body.id, status: 'pending_approval', requestedByOwner: t.keys.csr2.owner },
      waitingHours: 24,
    });
    at(30 * DAY);
    await sweep();
    expect(await waiting()).toHaveLength(2);
  });

  it('flags an active exception unused for STALE_EXCEPTION_UNUSED_DAYS: announced once, in its history, never revoked', async () => {
    const idle = await activeException(200);
    const used = await activeException(200);
    const staleEvents = (id: string) => eventsAbout(id, 'exception.stale');
    // Usage as the policy server rolls it up.
    await t.prisma.exception.update({ where: { id: used.id }, data: { lastMatchedAt: new Date(start + 40 * DAY), matchCount: 12 } });

    at(44 * DAY);
    await sweep();
    expect(await staleEvents(idle.id)).toHaveLength(0);
    at(46 * DAY);
    await sweep();
    await sweep();
    expect(await staleEvents(used.id)).toHaveLength(0);
    const [event] = await staleEvents(idle.id);
    expect(event!.data).toMatchObject({ exception: { id: idle.id, lastMatchedAt: null, matchCount: 0 }, unusedDays: 46 });
    const trail = await auditTrail(t, idle.id);
    expect(trail.at(-1)).toMatchObject({ action: 'exception.flagged_stale', actor: { name: 'system:worker', role: 'system' }, after: { unusedDays: 46, policy: 'notify' } });
    expect((await t.http.get(`/v1/exceptions/${idle.id}`).set(bearer(t.keys.auditor)).expect(200)).body.status).toBe('active');
    await round();
    expect(smtp.to(idle.contact).map((mail) => mail.subject)).toEqual([`[HeloPass] The HELO exception for ${idle.heloHostname} has not been used for 46 days`]);

    // Used again, then idle for as long once more: a new occasion.
    await t.prisma.exception.update({ where: { id: idle.id }, data: { lastMatchedAt: new Date(start + 47 * DAY), matchCount: 1 } });
    at(91 * DAY);
    await sweep();
    expect(await staleEvents(idle.id)).toHaveLength(1);
    at(93 * DAY);
    await sweep();
    expect(await staleEvents(idle.id)).toHaveLength(2);
  });
});
