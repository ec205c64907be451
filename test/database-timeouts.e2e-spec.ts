import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, createOrganization, startIsolatedTestApp, type TestApp } from './support/test-app.js';

type IsolatedApp = TestApp & { databaseUrl: string };

/** A second session that holds row locks, as a long transaction elsewhere would. */
async function lockHolder(databaseUrl: string): Promise<{ lock(sql: string, values?: unknown[]): Promise<void>; release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  return {
    async lock(sql, values = []) {
      await client.query('BEGIN');
      await client.query(sql, values);
    },
    async release() {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    },
  };
}

function expectBusy(response: { status: number; headers: Record<string, string>; body: any }): void {
  expect(response.status).toBe(503);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.headers['retry-after']).toBe('3');
  expect(response.body).toMatchObject({
    type: 'urn:helopass:problem:database-unavailable',
    status: 503,
    detail: 'the database did not answer in time; retry after 3 s',
  });
}

// Each app on a database of its own: the locks held here must not slow other specs down.
describe('statement timeout', () => {
  let t: IsolatedApp;

  beforeAll(async () => {
    t = await startIsolatedTestApp({
      DB_STATEMENT_TIMEOUT_MS: '400',
      DB_LOCK_TIMEOUT_MS: '60000',
      DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '45000',
      DB_RETRY_AFTER_SECONDS: '3',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('holds on every connection of the app', async () => {
    const [row] = await t.prisma.$queryRaw<Array<Record<string, string>>>`
      SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,
             current_setting('idle_in_transaction_session_timeout') AS idle`;
    expect(row).toEqual({ statement: '400ms', lock: '1min', idle: '45s' });
  });

  it('a write stuck behind a lock answers 503 once it runs out, and changes nothing', async () => {
    const org = await createOrganization(t, { notes: 'before' });
    const holder = await lockHolder(t.databaseUrl);
    try {
      await holder.lock('SELECT id FROM organizations WHERE id = $1 FOR UPDATE', [org.id]);
      const response = await t.http
        .patch(`/v1/organizations/${org.id}`)
        .set(bearer(t.keys.csr))
        .set('x-request-id', 'stuck-patch-1')
        .send({ notes: 'after' });
      expectBusy(response);
    } finally {
      await holder.release();
    }
    const now = await t.http.get(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).expect(200);
    expect(now.body.notes).toBe('before');
    expect(await t.prisma.auditEvent.count({ where: { requestId: 'stuck-patch-1' } })).toBe(0);
    await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).send({ notes: 'after' }).expect(200);
  });
});

describe('lock timeout', () => {
  let t: IsolatedApp;
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({
      DNS_RESOLVERS: dns.address,
      DB_STATEMENT_TIMEOUT_MS: '60000',
      DB_LOCK_TIMEOUT_MS: '300',
      DB_RETRY_AFTER_SECONDS: '3',
    });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  it('a grant that fails half-way (after its row and audit event, at the feed version) leaves nothing behind', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['192.0.2.91'] });
    const versionBefore = await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } });
    const holder = await lockHolder(t.databaseUrl);
    try {
      // The grant inserts its exception and audit event first, then bumps the feed version: that row is held.
      await holder.lock('SELECT version FROM feed_state WHERE id = 1 FOR UPDATE');
      const response = await t.http
        .post('/v1/exceptions')
        .set(bearer(t.keys.csr))
        .set('x-request-id', 'stuck-grant-1')
        .send({ mailServerId: server.mailServerId, reason: 'lock timeout test' });
      expectBusy(response);
    } finally {
      await holder.release();
    }
    expect(await t.prisma.exception.count({ where: { mailServerId: server.mailServerId } })).toBe(0);
    expect(await t.prisma.auditEvent.count({ where: { requestId: 'stuck-grant-1' } })).toBe(0);
    expect((await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version).toBe(versionBefore.version);

    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'lock timeout test' }).expect(201);
    expect(await t.prisma.exception.count({ where: { mailServerId: server.mailServerId } })).toBe(1);
  });
});
