import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '@app/config';
import { ManualClock } from '@app/domain';
import { startPolicyServer, UsageRepository, type RunningPolicyServer } from '@app/policy';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { PolicyConnection } from './support/policy-client.js';
import { bearer, startTestApp, type TestApp } from './support/test-app.js';

const policyConfig = () => loadConfig({ DATABASE_URL: inject('databaseUrl'), SNAPSHOT_DIR: 'off', LOG_LEVEL: 'warn', POLICY_USAGE_FLUSH_SECONDS: '3600' });

/**
 * The policy server against grants made through the API: it hears of them
 * (and of revocations) through PostgreSQL, as a separate server would, and
 * answers by scope.
 */
describe('the policy server answers what the API granted', () => {
  let dns: TestDnsServer;
  let t: TestApp;
  let server: RunningPolicyServer;
  let second: RunningPolicyServer;
  let client: PolicyConnection;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startTestApp({ DNS_RESOLVERS: dns.address });
    server = await startPolicyServer(policyConfig(), { port: 0 });
    second = await startPolicyServer(policyConfig(), { port: 0 });
    client = await PolicyConnection.open(server.port);
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
    await second?.stop();
    await t?.close();
    await dns?.stop();
  });

  const grant = async (mailServerId: string, scope: string, extra: Record<string, unknown> = {}) =>
    (await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId, scope, reason: 'policy server test', ...extra }).expect(201)).body;
  const exception = async (id: string) => (await t.http.get(`/v1/exceptions/${id}`).set(bearer(t.keys.auditor)).expect(200)).body;
  const until = (helo: string, address: string, action: string, on = client) =>
    expect.poll(() => on.ask(helo, address), { timeout: 5000, interval: 20 }).toBe(action);

  it('pair: the granted name from the granted address only; name case and a trailing dot do not matter; revoked, it is gone', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.161'] });
    const helo = mail.heloHostname;
    expect(await client.ask(helo, '192.0.2.161')).toBe('DUNNO');
    const granted = await grant(mail.mailServerId, 'pair');
    expect(granted.status).toBe('active');
    await until(helo, '192.0.2.161', 'OK');
    expect(await client.ask('other-name.example', '192.0.2.161')).toBe('DUNNO');
    expect(await client.ask(helo, '192.0.2.162')).toBe('DUNNO');
    expect(await client.ask(`${helo.toUpperCase()}.`, '192.0.2.161')).toBe('OK');
    expect(await client.ask(helo, '::ffff:192.0.2.161')).toBe('OK');
    expect(await client.ask('[192.0.2.161]', '192.0.2.161')).toBe('DUNNO');

    const revoked = await t.http.post(`/v1/exceptions/${granted.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'done' }).expect(200);
    expect(revoked.body.status).toBe('revoked');
    await until(helo, '192.0.2.161', 'DUNNO');
  });

  it('ip over IPv6: any name from the address, an address literal too; no other address', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['2001:db8:5::25'] });
    await grant(mail.mailServerId, 'ip');
    await until('anything.example', '2001:db8:5::25', 'OK');
    expect(await client.ask('[IPv6:2001:db8:5::25]', '2001:DB8:5:0::25')).toBe('OK');
    expect(await client.ask(mail.heloHostname, '2001:db8:5::26')).toBe('DUNNO');
  });

  it('pair over an IPv6 prefix (approved by a second person): any address in it, none outside', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['2001:db8:77::/64'] });
    const requested = await grant(mail.mailServerId, 'pair');
    expect(requested.status).toBe('pending_approval');
    expect(await client.ask(mail.heloHostname, '2001:db8:77::9')).toBe('DUNNO');
    const approved = await t.http.post(`/v1/exceptions/${requested.id}/approve`).set(bearer(t.keys.csr2)).send({}).expect(200);
    expect(approved.body.status).toBe('active');
    await until(mail.heloHostname, '2001:db8:77::9', 'OK');
    expect(await client.ask(mail.heloHostname, '2001:db8:77:0:ffff:ffff:ffff:ffff')).toBe('OK');
    expect(await client.ask(mail.heloHostname, '2001:db8:78::9')).toBe('DUNNO');
    expect(await client.ask('another.example', '2001:db8:77::9')).toBe('DUNNO');
  });

  it('usage: matches of two servers reach the API, counted once each, and unusedSince lists what was not used', async () => {
    const before = new Date();
    const used = await provenMailServer(t, dns, { addresses: ['192.0.2.171'] });
    const idle = await provenMailServer(t, dns, { addresses: ['192.0.2.172'] });
    const usedGrant = await grant(used.mailServerId, 'pair');
    const idleGrant = await grant(idle.mailServerId, 'pair');
    const other = await PolicyConnection.open(second.port);
    try {
      await until(used.heloHostname, '192.0.2.171', 'OK');
      await until(used.heloHostname, '192.0.2.171', 'OK', other);
      const firstCount = 5;
      const secondCount = 7;
      // The polls above matched too: count from what each server says it holds, then add known decisions.
      await Promise.all([server.flushUsage(), second.flushUsage()]);
      const start = Number((await exception(usedGrant.id)).matchCount);
      expect(start).toBeGreaterThanOrEqual(2);
      for (let index = 0; index < firstCount; index++) {
        expect(await client.ask(used.heloHostname, '192.0.2.171')).toBe('OK');
      }
      for (let index = 0; index < secondCount; index++) {
        expect(await other.ask(used.heloHostname, '192.0.2.171')).toBe('OK');
      }
      // A DUNNO is no use of anything.
      expect(await other.ask('not-granted.example', '192.0.2.172')).toBe('DUNNO');
      expect(server.unwrittenMatches()).toBeGreaterThanOrEqual(firstCount);
      await Promise.all([server.flushUsage(), second.flushUsage()]);
      expect(server.unwrittenMatches()).toBe(0);
      const after = await exception(usedGrant.id);
      expect(after.matchCount).toBe(start + firstCount + secondCount);
      expect(Date.parse(after.lastMatchedAt)).toBeGreaterThanOrEqual(before.getTime());
      expect(after.version).toBe(usedGrant.version); // usage is no change of the exception: If-Match tags stay valid
      expect((await exception(idleGrant.id)).matchCount).toBe(0);

      const list = await t.http
        .get('/v1/exceptions')
        .query({ unusedSince: before.toISOString(), status: 'active', limit: 200, helo: idle.heloHostname })
        .set(bearer(t.keys.auditor))
        .expect(200);
      expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([idleGrant.id]);
      const usedList = await t.http
        .get('/v1/exceptions')
        .query({ unusedSince: before.toISOString(), helo: used.heloHostname })
        .set(bearer(t.keys.auditor))
        .expect(200);
      expect(usedList.body.items).toEqual([]);
      // Not matched since a later instant: listed again.
      const later = await t.http
        .get('/v1/exceptions')
        .query({ unusedSince: new Date(Date.now() + 60_000).toISOString(), helo: used.heloHostname })
        .set(bearer(t.keys.auditor))
        .expect(200);
      expect(later.body.items.map((item: { id: string }) => item.id)).toEqual([usedGrant.id]);
      const bad = await t.http.get('/v1/exceptions').query({ unusedSince: 'yesterday' }).set(bearer(t.keys.auditor)).expect(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
      expect(JSON.stringify(bad.body)).toContain('unusedSince');
    } finally {
      other.close();
    }
  });

  it('a flush retried under the same batch id adds nothing the second time', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.181'] });
    const granted = await grant(mail.mailServerId, 'pair');
    const repository = new UsageRepository(t.prisma);
    const batch = { id: crypto.randomUUID(), items: [{ exceptionId: granted.id, count: 4, lastMatchedAt: Date.now() }] };
    await repository.apply(batch);
    await repository.apply(batch);
    expect((await exception(granted.id)).matchCount).toBe(4);
    await repository.apply({ ...batch, id: crypto.randomUUID() });
    expect((await exception(granted.id)).matchCount).toBe(8);
  });
});

describe('the policy server decides at the exact instant (injected clock)', () => {
  let dns: TestDnsServer;
  let t: TestApp;
  let server: RunningPolicyServer;
  let client: PolicyConnection;
  const clock = new ManualClock();

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startTestApp({ DNS_RESOLVERS: dns.address });
    server = await startPolicyServer(policyConfig(), { port: 0, clock });
    client = await PolicyConnection.open(server.port);
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
    await t?.close();
    await dns?.stop();
  });

  it('answers OK from startsAt on, and DUNNO from expiresAt on, to the millisecond', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.191'] });
    const startsAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 600_000);
    const expiresAt = new Date(startsAt.getTime() + 3_600_000);
    const granted = (
      await t.http
        .post('/v1/exceptions')
        .set(bearer(t.keys.csr))
        .send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'window', startsAt: startsAt.toISOString(), expiresAt: expiresAt.toISOString() })
        .expect(201)
    ).body;
    expect(granted.startsAt).toBe(startsAt.toISOString());
    // Loaded once the server knows of it: poll at an instant inside the window.
    clock.set(new Date(startsAt.getTime() + 1));
    await expect.poll(() => client.ask(mail.heloHostname, '192.0.2.191'), { timeout: 5000, interval: 20 }).toBe('OK');
    clock.set(new Date(startsAt.getTime() - 1));
    expect(await client.ask(mail.heloHostname, '192.0.2.191')).toBe('DUNNO');
    clock.set(startsAt);
    expect(await client.ask(mail.heloHostname, '192.0.2.191')).toBe('OK');
    clock.set(new Date(expiresAt.getTime() - 1));
    expect(await client.ask(mail.heloHostname, '192.0.2.191')).toBe('OK');
    clock.set(expiresAt);
    expect(await client.ask(mail.heloHostname, '192.0.2.191')).toBe('DUNNO');
  });
});
