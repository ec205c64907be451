import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, startEmbeddedDatabase, type EmbeddedDatabase } from '@app/database';
import { startTestDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { provenMailServer } from '../support/ownership.js';
import { PolicyConnection } from '../support/policy-client.js';
import { ProcessOutput } from '../support/process-output.js';
import { bearer, startTestApp, unique, type TestApp } from '../support/test-app.js';
import { freePort } from '../support/free-port.js';

/** How long PostgreSQL stays stopped (DRILL_OUTAGE_SECONDS to drill another length). */
const OUTAGE_SECONDS = Number(process.env.DRILL_OUTAGE_SECONDS ?? 30);
const FEED_POLLERS = 200;
const POLICY_CONNECTIONS = 32;
const CSR_WRITERS = 20;
/** Each feed poller asks this often (a sync agent asks every few seconds; this is harsher). */
const POLL_INTERVAL_MS = 1000;
/** Load before the stop, and after the restart for recovery to show. */
const WARM_MS = 3000;
const RECOVERY_BOUND_MS = 20_000;
const RETRY_AFTER_SECONDS = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Write {
  name: string;
  requestId: string;
  status: number | 'error';
  retryAfter?: string | null;
  problemType?: string;
}

/**
 * Drill: PostgreSQL stopped under the whole load at once — feed pollers,
 * policy connections and CSR writers against the built API and policy
 * server. Reads come from memory (the feed says since when it is stale),
 * writes answer 503 with Retry-After and leave nothing half-written, and
 * everything recovers without a process restarted.
 *
 * A PostgreSQL of its own, stopped and started by the test, as in
 * feed-db-down.e2e-spec.ts (to move to a shared helper in test/support).
 */
describe(`drill: PostgreSQL stopped for ${OUTAGE_SECONDS} s under load`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'helopass-drill-db-'));
  let port: number;
  let database: EmbeddedDatabase | undefined;
  let dns: TestDnsServer;
  let t: TestApp;
  const children: ChildProcess[] = [];

  const startDatabase = () => startEmbeddedDatabase({ dataDir, port, database: 'helopass', persistent: true });

  beforeAll(async () => {
    port = await freePort();
    database = await startDatabase();
    await applyMigrations(database.connectionString);
    dns = await startTestDnsServer();
    t = await startTestApp({ DATABASE_URL: database.connectionString, DNS_RESOLVERS: dns.address, FEED_POLL_SECONDS: '1' });
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    await t?.close().catch(() => undefined);
    await database?.stop();
    await dns?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (main: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; run: ProcessOutput; match: RegExpMatchArray }> => {
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        DATABASE_URL: database!.connectionString,
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'fatal',
        FEED_POLL_SECONDS: '1',
        DB_CONNECT_TIMEOUT_MS: '1000',
        DB_STATEMENT_TIMEOUT_MS: '5000',
        DB_RETRY_AFTER_SECONDS: String(RETRY_AFTER_SECONDS),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const run = new ProcessOutput(child);
    await run.waitFor((text) => ready.test(text), `${main} said it listens`, 60_000);
    return { child, run, match: run.text.match(ready)! };
  };

  it('serves every feed poll and policy answer from memory, answers writes 503, leaves nothing half-written, and recovers by itself', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.120'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'before the outage' }).expect(201);

    const apiPort = await freePort();
    const api = await start(
      'dist/apps/api/src/main.js',
      {
        HOST: '127.0.0.1',
        PORT: String(apiPort),
        RUN_WORKER: 'false',
        RUN_POLICY_SERVER: 'false',
        RATE_LIMIT_PER_MINUTE: '1000000',
        RATE_LIMIT_FEED_PER_MINUTE: '1000000',
        RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000000',
      },
      /API on http:\/\//,
    );
    const policy = await start('dist/apps/policy/src/main.js', { POLICY_HOST: '127.0.0.1', POLICY_PORT: '0', POLICY_MAX_CONNECTIONS: '1000' }, /Postfix policy service on inet:127\.0\.0\.1:(\d+)/);
    const base = `http://127.0.0.1:${apiPort}`;
    const feedUrl = `${base}/v1/allowlist/postfix-cidr`;
    const expectedLine = '192.0.2.120/32 OK';
    await expect.poll(async () => (await (await fetch(feedUrl, { headers: bearer(t.keys.filter) })).text()).includes(expectedLine), { timeout: 10_000 }).toBe(true);

    let running = true;
    const failures: string[] = [];
    const fail = (what: string) => {
      if (failures.length < 50) {
        failures.push(what);
      }
    };
    const counts = { polls: 0, staleAnswers: 0, policyAnswers: 0 };
    let outage = false;
    /** Per poller, the polls answered while PostgreSQL was stopped; and how long each took. */
    const outagePolls = Array.from({ length: FEED_POLLERS }, () => 0);
    const outagePollMs: number[] = [];

    // 200 feed pollers, each with its validators, as a sync agent keeps them.
    const poller = async (index: number) => {
      let etag: string | null = null;
      await sleep((index * POLL_INTERVAL_MS) / FEED_POLLERS); // spread over the interval
      while (running) {
        const sentAt = Date.now();
        try {
          const response = await fetch(feedUrl, { headers: { ...bearer(t.keys.filter), ...(etag === null ? {} : { 'if-none-match': etag }) } });
          const body = await response.text();
          if (response.status === 200 && body.includes(expectedLine)) {
            etag = response.headers.get('etag');
          } else if (response.status !== 304) {
            fail(`feed poll: ${response.status} ${body.slice(0, 200)}`);
          }
          if (response.headers.get('x-allowlist-stale-since') !== null) {
            counts.staleAnswers++;
          }
          counts.polls++;
          if (outage) {
            outagePolls[index]!++;
            outagePollMs.push(Date.now() - sentAt);
          }
        } catch (error) {
          fail(`feed poll: ${(error as Error).message}`);
        }
        await sleep(POLL_INTERVAL_MS);
      }
    };

    // 32 policy connections asking about the granted pair and about a stranger, back to back.
    const connections = await Promise.all(Array.from({ length: POLICY_CONNECTIONS }, () => PolicyConnection.open(Number(policy.match[1]))));
    const asker = async (connection: PolicyConnection, index: number) => {
      while (running) {
        try {
          const granted = index % 2 === 0;
          const action = await connection.ask(mail.heloHostname, granted ? '192.0.2.120' : '192.0.2.121');
          if (action !== (granted ? 'OK' : 'DUNNO')) {
            fail(`policy answer: ${action}`);
          }
          counts.policyAnswers++;
        } catch (error) {
          fail(`policy answer: ${(error as Error).message}`);
          return;
        }
        await sleep(10);
      }
    };

    // 20 CSR writers, each creating organizations one after another; a 503 is waited on, as Retry-After asks (capped).
    const writes: Write[] = [];
    const writer = async () => {
      while (running) {
        const write: Write = { name: unique('Drill Org'), requestId: unique('drill-write'), status: 'error' };
        writes.push(write);
        try {
          const response = await fetch(`${base}/v1/organizations`, {
            method: 'POST',
            headers: { ...bearer(t.keys.csr), 'content-type': 'application/json', 'x-request-id': write.requestId },
            body: JSON.stringify({ name: write.name }),
          });
          write.status = response.status;
          write.retryAfter = response.headers.get('retry-after');
          const body = (await response.json()) as { type?: string };
          write.problemType = body.type;
          if (response.status === 503) {
            if (!response.headers.get('content-type')?.includes('application/problem+json') || write.retryAfter !== String(RETRY_AFTER_SECONDS)) {
              fail(`write 503 without problem+json and Retry-After: ${JSON.stringify(body)}`);
            }
            await sleep(500);
          } else if (response.status !== 201) {
            fail(`write: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
          }
        } catch (error) {
          fail(`write: ${(error as Error).message}`);
        }
        await sleep(50);
      }
    };

    const load = [
      ...Array.from({ length: FEED_POLLERS }, (_, index) => poller(index)),
      ...connections.map((connection, index) => asker(connection, index)),
      ...Array.from({ length: CSR_WRITERS }, () => writer()),
    ];
    await sleep(WARM_MS);
    const before = { polls: counts.polls, writes: writes.filter((write) => write.status === 201).length };

    const policyAtStop = counts.policyAnswers;
    const stoppedAt = Date.now();
    await database!.stop();
    database = undefined;
    outage = true;
    await sleep(Math.max(0, OUTAGE_SECONDS * 1000 - (Date.now() - stoppedAt)));
    const during = { polls: counts.polls - before.polls, stale: counts.staleAnswers, policy: counts.policyAnswers - policyAtStop };
    outage = false;
    database = await startDatabase();
    const restartedAt = Date.now();

    // Recovery, with the load still running and no process restarted.
    await expect.poll(async () => (await fetch(feedUrl, { headers: bearer(t.keys.filter) })).headers.get('x-allowlist-stale-since'), { timeout: RECOVERY_BOUND_MS, interval: 250 }).toBeNull();
    const feedFreshAfterMs = Date.now() - restartedAt;
    const writtenBeforeRestart = writes.filter((write) => write.status === 201).length;
    await expect.poll(() => writes.filter((write) => write.status === 201).length, { timeout: RECOVERY_BOUND_MS, interval: 100 }).toBeGreaterThan(writtenBeforeRestart);
    const writesBackAfterMs = Date.now() - restartedAt;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    running = false;
    await Promise.all(load);
    connections.forEach((connection) => connection.close());

    expect(failures).toEqual([]);
    expect(during.stale).toBeGreaterThan(0);
    // Every poller kept being answered through the outage, not just some.
    expect(Math.min(...outagePolls)).toBeGreaterThanOrEqual(Math.floor(OUTAGE_SECONDS / 5));
    const sortedMs = outagePollMs.sort((a, b) => a - b);
    const p99Ms = sortedMs[Math.floor(sortedMs.length * 0.99)] ?? 0;
    const refused = writes.filter((write) => write.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((write) => write.problemType === 'urn:helopass:problem:database-unavailable')).toBe(true);

    // Nothing half-written: every 201 is there with its audit event, nothing of a 503 is.
    const created = writes.filter((write) => write.status === 201);
    const organizations = await t.prisma.organization.findMany({ where: { name: { in: writes.map((write) => write.name) } }, select: { name: true } });
    const auditEvents = await t.prisma.auditEvent.findMany({ where: { requestId: { in: writes.map((write) => write.requestId) } }, select: { requestId: true, action: true } });
    const stored = new Set(organizations.map((organization) => organization.name));
    const audited = new Set(auditEvents.map((event) => event.requestId));
    expect(created.filter((write) => !stored.has(write.name) || !audited.has(write.requestId)).map((write) => write.name)).toEqual([]);
    expect(refused.filter((write) => stored.has(write.name) || audited.has(write.requestId)).map((write) => write.name)).toEqual([]);
    expect(auditEvents.length).toBe(created.length);
    expect(stored.size).toBe(created.length);

    // Changes flow again to both processes.
    const second = await provenMailServer(t, dns, { addresses: ['192.0.2.122'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: second.mailServerId, scope: 'pair', reason: 'after the outage' }).expect(201);
    await expect.poll(async () => (await (await fetch(feedUrl, { headers: bearer(t.keys.filter) })).text()).includes('192.0.2.122/32 OK'), { timeout: 10_000, interval: 200 }).toBe(true);
    const fresh = await PolicyConnection.open(Number(policy.match[1]));
    try {
      await expect.poll(() => fresh.ask(second.heloHostname, '192.0.2.122'), { timeout: 10_000, interval: 100 }).toBe('OK');
    } finally {
      fresh.close();
    }
    expect(api.child.exitCode).toBeNull();
    expect(policy.child.exitCode).toBeNull();
    console.log(
      `[drill] PostgreSQL stopped ${OUTAGE_SECONDS} s under ${FEED_POLLERS} feed pollers, ${POLICY_CONNECTIONS} policy connections, ${CSR_WRITERS} writers: ` +
        `${counts.polls} feed polls (${during.polls} during the outage, p99 ${p99Ms} ms, each poller ${Math.min(...outagePolls)}+ times; ${during.stale} marked stale), ${counts.policyAnswers} policy answers (${during.policy} during the outage), 0 failed; ` +
        `${created.length} writes 201 and ${refused.length} answered 503, none half-written; feed fresh ${feedFreshAfterMs} ms and writes back ${writesBackAfterMs} ms after the restart`,
    );
  });
});
