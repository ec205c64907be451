import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, startEmbeddedDatabase, type EmbeddedDatabase } from '@app/database';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, startTestApp, type TestApp } from './support/test-app.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// A PostgreSQL of its own, so that the test can stop it and start it again.
describe('the feed while the database is down', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'helopass-down-'));
  let port: number;
  let database: EmbeddedDatabase | undefined;
  let dns: TestDnsServer;
  let t: TestApp;

  const startDatabase = () => startEmbeddedDatabase({ dataDir, port, database: 'helopass', persistent: true });

  beforeAll(async () => {
    port = await freePort();
    database = await startDatabase();
    await applyMigrations(database.connectionString);
    dns = await startTestDnsServer();
    t = await startTestApp({ DATABASE_URL: database.connectionString, DNS_RESOLVERS: dns.address, FEED_POLL_SECONDS: '1' });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await database?.stop();
    await dns?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const feed = () => t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter));

  it('keeps serving the last snapshot, says since when it is stale, and recovers by itself', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['192.0.2.77'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'before the outage' }).expect(201);
    await expect.poll(async () => (await feed()).text, { timeout: 5000 }).toContain('192.0.2.77/32 OK');
    const before = await feed().expect(200);
    expect(before.headers['x-allowlist-stale-since']).toBeUndefined();

    await database!.stop();
    database = undefined;
    await expect.poll(async () => (await feed()).headers['x-allowlist-stale-since'], { timeout: 5000, interval: 200 }).toBeDefined();
    const during = await feed().expect(200);
    expect(during.text).toBe(before.text);
    expect(during.headers.etag).toBe(before.headers.etag);
    expect(Date.parse(during.headers['x-allowlist-stale-since']!)).not.toBeNaN();
    // The same validators still answer 304: filters keep their copy.
    await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).set('if-none-match', before.headers.etag!).expect(304);
    const ready = await t.http.get('/health/ready').expect(503);
    expect(ready.headers['content-type']).toContain('application/problem+json');
    expect(ready.body.detail).toContain('stale since');

    database = await startDatabase();
    await expect.poll(async () => (await feed()).headers['x-allowlist-stale-since'], { timeout: 10_000, interval: 250 }).toBeUndefined();
    await t.http.get('/health/ready').expect(200);
    const second = await provenMailServer(t, dns, { addresses: ['192.0.2.78'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: second.mailServerId, reason: 'after the outage' }).expect(201);
    await expect.poll(async () => (await feed()).text, { timeout: 5000 }).toContain('192.0.2.78/32 OK');
  });
});
