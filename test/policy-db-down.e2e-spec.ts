import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { startPolicyServer, type RunningPolicyServer } from '@app/policy';
import { startStoppableDatabase, type StoppableDatabase } from './support/stoppable-database.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { PolicyConnection } from './support/policy-client.js';
import { bearer, startTestApp, type TestApp } from './support/test-app.js';

// A PostgreSQL of its own, so that the test can stop it and start it again.
describe('the policy server while the database is down', () => {
  let database: StoppableDatabase;
  let dns: TestDnsServer;
  let t: TestApp;
  let server: RunningPolicyServer;
  const clients: PolicyConnection[] = [];

  beforeAll(async () => {
    database = await startStoppableDatabase('policy-down');
    dns = await startTestDnsServer();
    t = await startTestApp({ DATABASE_URL: database.connectionString, DNS_RESOLVERS: dns.address, FEED_POLL_SECONDS: '1' });
    const config = loadConfig({ DATABASE_URL: database.connectionString, SNAPSHOT_DIR: 'off', LOG_LEVEL: 'silent', FEED_POLL_SECONDS: '1', POLICY_USAGE_FLUSH_SECONDS: '3600' });
    server = await startPolicyServer(config, { port: 0 });
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await server?.stop().catch(() => undefined);
    await t?.close().catch(() => undefined);
    await database?.remove();
    await dns?.stop();
  });

  const open = async () => {
    const client = await PolicyConnection.open(server.port);
    clients.push(client);
    return client;
  };
  const matchCount = async (id: string) => Number((await t.http.get(`/v1/exceptions/${id}`).set(bearer(t.keys.auditor)).expect(200)).body.matchCount);

  it('keeps answering from memory, keeps the counts, writes them once PostgreSQL is back, and follows grants again', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.88'] });
    const granted = (
      await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'before the outage' }).expect(201)
    ).body;
    const client = await open();
    await expect.poll(() => client.ask(mail.heloHostname, '192.0.2.88'), { timeout: 5000, interval: 20 }).toBe('OK');
    await server.flushUsage();
    const before = await matchCount(granted.id);

    await database.stop();
    // Answers from memory, on the open connection and on new ones.
    let okDuringOutage = 0;
    for (let index = 0; index < 5; index++) {
      expect(await client.ask(mail.heloHostname, '192.0.2.88')).toBe('OK');
      okDuringOutage++;
    }
    const fresh = await open();
    expect(await fresh.ask(mail.heloHostname, '192.0.2.88')).toBe('OK');
    okDuringOutage++;
    expect(await fresh.ask('someone-else.example', '192.0.2.88')).toBe('DUNNO');
    expect(await fresh.ask(mail.heloHostname, '192.0.2.89')).toBe('DUNNO');
    // The counts cannot be written, and are kept.
    await expect(server.flushUsage()).rejects.toThrow();
    expect(server.unwrittenMatches()).toBe(okDuringOutage);
    expect(await fresh.ask(mail.heloHostname, '192.0.2.88')).toBe('OK');
    okDuringOutage++;

    await database.start();
    await expect.poll(async () => server.flushUsage().then(() => true, () => false), { timeout: 15_000, interval: 250 }).toBe(true);
    expect(server.unwrittenMatches()).toBe(0);
    expect(await matchCount(granted.id)).toBe(before + okDuringOutage);

    // Changes reach it again (NOTIFY after reconnection, or the version poll).
    const second = await provenMailServer(t, dns, { addresses: ['192.0.2.90'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: second.mailServerId, scope: 'pair', reason: 'after the outage' }).expect(201);
    await expect.poll(() => fresh.ask(second.heloHostname, '192.0.2.90'), { timeout: 10_000, interval: 50 }).toBe('OK');
  });
});
