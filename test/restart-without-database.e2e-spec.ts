import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { SnapshotStore } from '@app/enforcement';
import { startPolicyServer, type RunningPolicyServer } from '@app/policy';
import { createApp } from '../apps/api/src/bootstrap.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { PolicyConnection } from './support/policy-client.js';
import { startStoppableDatabase, type StoppableDatabase } from './support/stoppable-database.js';
import { bearer, LogCapture, startTestApp, type TestApp } from './support/test-app.js';

/**
 * The API and the policy server restarted while PostgreSQL is stopped: they
 * serve the allowlist kept on disk (the same bytes and validators), marked
 * stale, and catch up by themselves once PostgreSQL is back.
 */
describe('a restart while the database is down', () => {
  const snapshotDir = mkdtempSync(join(tmpdir(), 'helopass-snapshot-'));
  const corruptDir = mkdtempSync(join(tmpdir(), 'helopass-snapshot-bad-'));
  let database: StoppableDatabase;
  let dns: TestDnsServer;
  let first: TestApp | undefined;
  let restarted: { app: NestFastifyApplication; http: ReturnType<typeof request>; logs: LogCapture } | undefined;
  let refusing: { app: NestFastifyApplication; http: ReturnType<typeof request>; logs: LogCapture } | undefined;
  let policy: RunningPolicyServer | undefined;
  const clients: PolicyConnection[] = [];

  const env = () => ({
    DATABASE_URL: database.connectionString,
    DNS_RESOLVERS: dns.address,
    FEED_POLL_SECONDS: '1',
    SNAPSHOT_DIR: snapshotDir,
    SNAPSHOT_WRITE_SECONDS: '0',
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_FEED_PER_MINUTE: '1000000',
    LOG_LEVEL: 'info',
  });
  const startApp = async (overrides: Record<string, string> = {}) => {
    const logs = new LogCapture();
    const app = await createApp(loadConfig({ ...env(), ...overrides }), { logStream: logs });
    return { app, http: request(app.getHttpServer()), logs };
  };
  const startPolicy = () =>
    startPolicyServer(loadConfig({ ...env(), LOG_LEVEL: 'silent', POLICY_USAGE_FLUSH_SECONDS: '3600' }), { port: 0 });

  beforeAll(async () => {
    database = await startStoppableDatabase('restart-down');
    dns = await startTestDnsServer();
    first = await startTestApp(env());
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await policy?.stop().catch(() => undefined);
    await first?.close().catch(() => undefined);
    await restarted?.app.close().catch(() => undefined);
    await refusing?.app.close().catch(() => undefined);
    await database?.remove();
    await dns?.stop();
    rmSync(snapshotDir, { recursive: true, force: true });
    rmSync(corruptDir, { recursive: true, force: true });
  });

  it('serves the snapshot on disk with the same bytes and validators, stale, refuses a damaged one, and catches up once PostgreSQL is back', async () => {
    const t = first!;
    const filter = t.keys.filter;
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.61'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'before the restart' }).expect(201);
    const feed = (http: ReturnType<typeof request>, path = '/v1/allowlist/postfix-cidr') => http.get(path).set(bearer(filter));
    await expect.poll(async () => (await feed(t.http)).text, { timeout: 5000 }).toContain('192.0.2.61/32 OK');
    const store = t.app.get(SnapshotStore);
    const version = store.current()!.version;
    const beforeCidr = await feed(t.http).expect(200);
    const beforeJson = await feed(t.http, '/v1/allowlist').expect(200);
    const beforeSig = await feed(t.http, '/v1/allowlist/postfix-cidr.sig').expect(200);
    // Written soon after the change (and the filter key's hash with it).
    await expect.poll(() => store.source().lastWrittenAt !== null, { timeout: 5000 }).toBe(true);
    await expect.poll(() => readFileSync(join(snapshotDir, 'allowlist.snapshot')).includes(`"version":"${version}"`), { timeout: 5000 }).toBe(true);
    // The JSON rendering, built when first asked for, has its validators written as well.
    await expect.poll(() => readFileSync(join(snapshotDir, 'allowlist.snapshot')).includes(JSON.stringify(beforeJson.headers.etag)), { timeout: 5000 }).toBe(true);
    await expect.poll(() => readFileSync(join(snapshotDir, 'filter-keys.snapshot'), 'utf8').includes(filter.id), { timeout: 5000 }).toBe(true);
    // The file never holds a secret, only hashes.
    expect(readFileSync(join(snapshotDir, 'filter-keys.snapshot'), 'utf8')).not.toContain(filter.key);
    await first!.close();
    first = undefined;

    await database.stop();
    restarted = await startApp();
    const during = await feed(restarted.http).expect(200);
    expect(during.text).toBe(beforeCidr.text);
    expect(during.headers.etag).toBe(beforeCidr.headers.etag);
    expect(during.headers['last-modified']).toBe(beforeCidr.headers['last-modified']);
    expect(Date.parse(during.headers['x-allowlist-stale-since']!)).not.toBeNaN();
    await feed(restarted.http).set('if-none-match', beforeCidr.headers.etag!).expect(304);
    const jsonDuring = await feed(restarted.http, '/v1/allowlist').expect(200);
    expect(jsonDuring.text).toBe(beforeJson.text);
    expect(jsonDuring.headers.etag).toBe(beforeJson.headers.etag);
    const sigDuring = await feed(restarted.http, '/v1/allowlist/postfix-cidr.sig').expect(200);
    expect(Buffer.from(sigDuring.body as Buffer).equals(Buffer.from(beforeSig.body as Buffer))).toBe(true);
    // A key nobody has seen cannot be checked: 503, not 401.
    await restarted.http.get('/v1/allowlist/postfix-cidr').set('authorization', `Bearer hp_${'x'.repeat(43)}`).expect((response) => {
      expect([401, 503]).toContain(response.status);
    });
    // Liveness does not need the database; readiness says what is missing and what is served.
    await restarted.http.get('/health/live').expect(200);
    const ready = await restarted.http.get('/health/ready').expect(503);
    expect(ready.body.database).toBe('down');
    expect(ready.body.allowlist).toMatchObject({ source: 'disk', version: version.toString(), stale: true });
    expect(ready.body.allowlist.staleSince).toEqual(expect.any(String));

    // The policy server, started now, answers from the same file.
    policy = await startPolicy();
    const client = await PolicyConnection.open(policy.port);
    clients.push(client);
    expect(await client.ask(mail.heloHostname, '192.0.2.61')).toBe('OK');
    expect(await client.ask(mail.heloHostname, '192.0.2.62')).toBe('DUNNO');
    expect(await client.ask('someone-else.example', '192.0.2.61')).toBe('DUNNO');

    // A damaged copy is refused, logged as an anomaly, never served.
    const bytes = readFileSync(join(snapshotDir, 'allowlist.snapshot'));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    mkdirSync(corruptDir, { recursive: true });
    writeFileSync(join(corruptDir, 'allowlist.snapshot'), bytes);
    writeFileSync(join(corruptDir, 'filter-keys.snapshot'), readFileSync(join(snapshotDir, 'filter-keys.snapshot')));
    refusing = await startApp({ SNAPSHOT_DIR: corruptDir });
    const refused = await feed(refusing.http);
    expect(refused.status).toBe(503);
    expect(refused.text).not.toContain('192.0.2.61');
    // Counted as an anomaly (and logged as `allowlist-snapshot-refused`); nothing is served from it.
    expect(refusing.app.get(SnapshotStore).statistics().anomalies).toBe(1);
    expect(refusing.app.get(SnapshotStore).source().from).toBeNull();
    expect((await refusing.http.get('/health/ready').expect(503)).body.allowlist).toMatchObject({ source: null, version: null, stale: true });
    await refusing.app.close();
    refusing = undefined;

    // PostgreSQL back: both catch up by themselves, and a grant made now is served without a restart.
    await database.start();
    await expect.poll(async () => (await feed(restarted!.http)).headers['x-allowlist-stale-since'], { timeout: 15_000, interval: 250 }).toBeUndefined();
    const admin = await restarted.http.get('/health/ready');
    expect(admin.status).toBe(200);
    expect(admin.body.allowlist).toMatchObject({ source: 'database', stale: false, staleSince: null });
    const csr = await startTestApp({ ...env(), SNAPSHOT_DIR: 'off' });
    try {
      const second = await provenMailServer(csr, dns, { addresses: ['192.0.2.63'] });
      await csr.http.post('/v1/exceptions').set(bearer(csr.keys.csr)).send({ mailServerId: second.mailServerId, scope: 'pair', reason: 'after the restart' }).expect(201);
      await expect.poll(async () => (await feed(restarted!.http)).text, { timeout: 10_000 }).toContain('192.0.2.63/32 OK');
      await expect.poll(() => client.ask(second.heloHostname, '192.0.2.63'), { timeout: 10_000, interval: 100 }).toBe('OK');
    } finally {
      await csr.close();
    }
  });
});
