import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_QUEUE_SCHEMA } from '@app/database';
import { SWEEP_QUEUE } from '@app/worker';
import { startTestDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { ProcessOutput } from '../support/process-output.js';
import { auditTrail, bearer, createOrganization, startIsolatedTestApp, unique, type TestApp } from '../support/test-app.js';

/** What `npm run start:worker` runs. */
const WORKER_MAIN = 'dist/apps/worker/src/main.js';
/** The least pg-boss takes: a dead worker's job is handed on within about twice this. */
const HEARTBEAT_SECONDS = 10;
/** The drill's bound on "runs again": the heartbeat, the monitor pass after it, a poll. */
const RETRY_BOUND_MS = 45_000;

interface JobRow {
  id: string;
  state: string;
  retry_count: number;
}

/**
 * Drill: a worker is killed (SIGKILL, no chance to clean up) in the middle of
 * a sweep, while its domain check waits on a DNS answer the test holds back.
 * Another worker takes the same pg-boss job over once the heartbeat is
 * missed, and the check's effect (the domain verified, its audit event)
 * happens once.
 */
describe('drill: a worker killed in the middle of a job', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let jobs: pg.Client;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1', DNS_RETRY_BASE_SECONDS: '1' });
    jobs = new pg.Client({ connectionString: t.databaseUrl });
    await jobs.connect();
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    await jobs?.end();
    await t?.close();
    await dns?.stop();
  });

  const startWorkerProcess = async (): Promise<{ child: ChildProcess; run: ProcessOutput }> => {
    const child = spawn(process.execPath, [WORKER_MAIN], {
      env: {
        ...process.env,
        DATABASE_URL: t.databaseUrl,
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'warn',
        JOB_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
        DNS_RESOLVERS: dns.address,
        // Long enough that the held answer, not a timeout, decides when the check ends.
        DNS_TIMEOUT_MS: '30000',
        DNS_TRIES: '1',
        DNS_CHECK_DEADLINE_MS: '60000',
        DNS_RETRY_BASE_SECONDS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const run = new ProcessOutput(child);
    await run.waitFor((text) => text.includes(`running as process ${child.pid}`), 'the worker said it started', 30_000);
    return { child, run };
  };

  const sweepJobs = async (): Promise<JobRow[]> =>
    (await jobs.query<JobRow>(`SELECT id::text, state::text, retry_count FROM ${pg.escapeIdentifier(JOB_QUEUE_SCHEMA)}.job WHERE name = $1`, [SWEEP_QUEUE])).rows;

  it('runs the job again on another worker, and its effect happens once', async () => {
    const org = await createOrganization(t);
    const name = `${unique('killed')}.example.com`;
    const domain = (await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201)).body;
    const recordName: string = domain.challenge.recordName;
    dns.txt(recordName, [domain.challenge.recordValue]);
    dns.delay(recordName, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the first retry is due DNS_RETRY_BASE_SECONDS after creation

    const first = await startWorkerProcess();
    // Queue a sweep now (as `sweepNow` does) rather than wait for the minute's.
    const sender = new PgBoss({ connectionString: t.databaseUrl, schema: JOB_QUEUE_SCHEMA, supervise: false, schedule: false, migrate: false, createSchema: false });
    await sender.start();
    try {
      await sender.send(SWEEP_QUEUE, {});
    } finally {
      await sender.stop({ graceful: false });
    }
    const asked = () => dns.queries.some((query) => query.name.toLowerCase() === recordName.toLowerCase() && query.type === 'TXT');
    await expect.poll(asked, { timeout: 20_000, interval: 10 }).toBe(true);
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await first.run.exited).toBeNull();

    // The job it held is still active, under a worker that is gone; nothing of the check was written.
    const held = (await sweepJobs()).filter((job) => job.state === 'active');
    expect(held).toHaveLength(1);
    const jobId = held[0]!.id;
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } })).status).toBe('pending');
    expect(await t.prisma.domainCheck.count({ where: { domainId: domain.id } })).toBe(0);

    dns.delay(recordName, 0);
    const second = await startWorkerProcess();
    const job = async () => (await sweepJobs()).find((row) => row.id === jobId);
    await expect.poll(async () => (await job())?.state, { timeout: RETRY_BOUND_MS, interval: 250 }).toBe('completed');
    const rerunMs = Date.now() - killedAt;
    expect((await job())!.retry_count).toBeGreaterThanOrEqual(1);

    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } })).status).toBe('verified');
    const verified = (await auditTrail(t, domain.id)).filter((event) => event.action === 'domain.verified');
    expect(verified).toHaveLength(1);
    expect(verified[0]).toMatchObject({ actor: { name: 'system:worker', role: 'system' } });
    expect(await t.prisma.domainCheck.count({ where: { domainId: domain.id, outcome: 'match' } })).toBe(1);
    console.log(`[drill] worker killed mid-job: job ${jobId} completed on another worker ${rerunMs} ms after the kill (JOB_HEARTBEAT_SECONDS=${HEARTBEAT_SECONDS})`);

    second.child.kill('SIGTERM');
    expect(await second.run.exited).toBe(0);
  });
});
