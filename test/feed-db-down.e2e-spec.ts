import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStoppableDatabase, type StoppableDatabase } from './support/stoppable-database.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, startTestApp, type TestApp } from './support/test-app.js';

// A PostgreSQL of its own, so that the test can stop it and start it again.
describe('the feed while the database is down', () => {
  let database: StoppableDatabase;
  let dns: TestDnsServer;
  let t: TestApp;

  beforeAll(async () => {
    database = await startStoppableDatabase('down');
    dns = await startTestDnsServer();
    t = await startTestApp({ DATABASE_URL: database.connectionString, DNS_RESOLVERS: dns.address, FEED_POLL_SECONDS: '1' });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await database?.remove();
    await dns?.stop();
  });

  const feed = () => t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter));

  it('keeps serving the last snapshot, says since when it is stale, and recovers by itself', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['192.0.2.77'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'before the outage' }).expect(201);
    await expect.poll(async () => (await feed()).text, { timeout: 5000 }).toContain('192.0.2.77/32 OK');
    const before = await feed().expect(200);
    expect(before.headers['x-allowlist-stale-since']).toBeUndefined();

    await database.stop();
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

    await database.start();
    await expect.poll(async () => (await feed()).headers['x-allowlist-stale-since'], { timeout: 10_000, interval: 250 }).toBeUndefined();
    await t.http.get('/health/ready').expect(200);
    const second = await provenMailServer(t, dns, { addresses: ['192.0.2.78'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: second.mailServerId, reason: 'after the outage' }).expect(201);
    await expect.poll(async () => (await feed()).text, { timeout: 5000 }).toContain('192.0.2.78/32 OK');
  });
});
