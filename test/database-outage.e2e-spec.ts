import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { bearer, startTestApp, unique, type TestApp } from './support/test-app.js';

const PROBLEM = 'application/problem+json';
const madeUpKey = () => ({ authorization: `Bearer hp_${randomBytes(32).toString('base64url')}` });

/**
 * The app reaches PostgreSQL through a proxy that the test breaks: first
 * refusing connections (a stopped server), then accepting them and never
 * answering (a hung server or a partition). One app per file: the log
 * capture is process-wide.
 */
describe('while the database is unreachable', () => {
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    proxy = await startTcpProxy(inject('databaseUrl'));
    t = await startTestApp({
      DATABASE_URL: proxy.url,
      DB_CONNECT_TIMEOUT_MS: '1000',
      DB_STATEMENT_TIMEOUT_MS: '2000',
      DB_RETRY_AFTER_SECONDS: '7',
      FEED_POLL_SECONDS: '1',
    });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await proxy?.close();
  });

  /** Rows (in the database, read after recovery) that a request left behind. */
  async function leftBehind(organizationName: string, requestId: string): Promise<{ organizations: number; auditEvents: number }> {
    const organizations = await t.prisma.organization.count({ where: { name: organizationName } });
    const auditEvents = await t.prisma.auditEvent.count({ where: { requestId } });
    return { organizations, auditEvents };
  }

  function expectDatabaseUnavailable(response: { status: number; headers: Record<string, string>; body: any; text: string }): void {
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toContain(PROBLEM);
    expect(response.headers['retry-after']).toBe('7');
    expect(response.body).toMatchObject({
      type: 'urn:helopass:problem:database-unavailable',
      title: 'Database unavailable',
      status: 503,
      detail: expect.stringContaining('retry after 7 s'),
    });
    expect(response.text).not.toMatch(/prisma|postgres|ECONN|127\.0\.0\.1/i);
  }

  async function recover(): Promise<void> {
    await proxy.restore();
    // Recovery needs no restart: a key never seen before is looked up again (and refused).
    await expect.poll(async () => (await t.http.get('/v1/organizations').set(madeUpKey())).status, { timeout: 10_000, interval: 200 }).toBe(401);
  }

  it('refused connections: a write answers 503 with Retry-After and leaves nothing; known keys keep reading the feed', async () => {
    const feed = await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    await t.http.get('/v1/organizations').set(bearer(t.keys.csr)).expect(200);

    await proxy.refuse();
    const name = unique('Outage Org');
    const write = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('x-request-id', 'outage-write-1').send({ name });
    expectDatabaseUnavailable(write);
    expect(write.body.requestId).toBe('outage-write-1');

    // A key this process has not seen cannot be checked: 503, not 401 and not 500.
    expectDatabaseUnavailable(await t.http.get('/v1/organizations').set(madeUpKey()));
    const flood = await Promise.all(Array.from({ length: 30 }, () => t.http.get('/v1/allowlist/postfix-cidr').set(madeUpKey())));
    expect(flood.map((response) => response.status)).toEqual(Array(30).fill(503));

    // Keys already known keep working: the feed is served from memory.
    const during = await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    expect(during.text).toBe(feed.text);

    // Logged as the database being unavailable, not as an unexpected error.
    const lines = t.logs.lines.filter((line) => line.includes('outage-write-1')).map((line) => JSON.parse(line));
    expect(lines.some((line) => line.level === 40 && line.msg === 'database unavailable')).toBe(true);
    expect(lines.some((line) => line.level >= 50)).toBe(false);

    await recover();
    expect(await leftBehind(name, 'outage-write-1')).toEqual({ organizations: 0, auditEvents: 0 });
    // The same request now goes through: the 503 was about the database, not the request.
    await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('x-request-id', 'outage-write-2').send({ name }).expect(201);
    expect(await leftBehind(name, 'outage-write-2')).toEqual({ organizations: 1, auditEvents: 1 });
  });

  it('a database that accepts connections and never answers: 503 instead of waiting, and recovery', async () => {
    const feed = await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    await t.http.get('/v1/organizations').set(bearer(t.keys.csr)).expect(200);

    proxy.stall();
    // Each of these would wait for the database indefinitely without the app's own limits;
    // the client-side timeout only turns such a hang into a failed test.
    const unknown = await t.http.get('/v1/organizations').set(madeUpKey()).timeout(15_000);
    expectDatabaseUnavailable(unknown);
    const again = await Promise.all(Array.from({ length: 10 }, () => t.http.get('/v1/organizations').set(madeUpKey()).timeout(15_000)));
    expect(again.map((response) => response.status)).toEqual(Array(10).fill(503));

    const name = unique('Stalled Org');
    const write = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .set('x-request-id', 'stalled-write-1')
      .send({ name })
      .timeout(15_000);
    expectDatabaseUnavailable(write);

    const during = await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    expect(during.text).toBe(feed.text);

    await recover();
    expect(await leftBehind(name, 'stalled-write-1')).toEqual({ organizations: 0, auditEvents: 0 });
    await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name }).expect(201);
  });

  it('runs every connection with the configured statement timeout', async () => {
    const [row] = await t.prisma.$queryRaw<{ statement_timeout: string }[]>`SHOW statement_timeout`;
    expect(row!.statement_timeout).toBe('2s');
  });
});
