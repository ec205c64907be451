import { fork, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { ManualClock } from '@app/domain';
import { DomainsService } from '@app/ownership';
import { startWorker, type RunningWorker } from '@app/worker';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { ProcessOutput } from './support/process-output.js';
import { auditTrail, bearer, createMailServer, createOrganization, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

const HOUR = 3_600_000;
/** What `npm run start:worker` runs (and `npm start` forks). */
const WORKER_MAIN = 'dist/apps/worker/src/main.js';

describe('worker', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let workers: RunningWorker[] = [];
  /** The app's and the workers' time: moved by hand, never waited for. */
  const clock = new ManualClock();
  const env = () => ({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1', DNS_RETRY_BASE_SECONDS: '1' });

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp(env(), clock);
  });
  afterAll(async () => {
    for (const worker of workers) {
      await worker.stop();
    }
    await t?.close();
    await dns?.stop();
  });

  it('runs due checks through the job queue: a pending domain becomes verified by system:worker, evidence follows', async () => {
    const config = loadConfig({ DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', ...env() });
    // Two replicas on one database: the queue hands each sweep to one of them.
    workers = [await startWorker(config, { clock, pollingIntervalSeconds: 0.5 }), await startWorker(config, { clock, pollingIntervalSeconds: 0.5 })];
    const org = await createOrganization(t);
    const name = `${unique('bg')}.example.com`;
    const domain = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201);
    dns.txt(domain.body.challenge.recordName, [domain.body.challenge.recordValue]);
    dns.txt(name, ['v=spf1 ip4:198.51.100.0/24 -all']);
    const server = await createMailServer(t, org.id, { heloHostname: `mx.${name}`, addresses: ['198.51.100.5'] });
    clock.advance(1100); // the first retry is due DNS_RETRY_BASE_SECONDS after the domain was added
    await workers[0]!.sweepNow();
    await expect
      .poll(async () => (await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.body.id } })).status, { timeout: 15_000, interval: 250 })
      .toBe('verified');
    const trail = await auditTrail(t, domain.body.id);
    expect(trail.at(-1)).toMatchObject({ action: 'domain.verified', actor: { name: 'system:worker', id: null, role: 'system' } });
    expect(await t.prisma.domainCheck.count({ where: { domainId: domain.body.id, outcome: 'match' } })).toBe(1);

    await workers[1]!.sweepNow();
    await expect
      .poll(async () => (await t.prisma.mailServerOwnership.findUnique({ where: { mailServerId: server.id } }))?.verified ?? null, {
        timeout: 15_000,
        interval: 250,
      })
      .toBe(true);
  });

  it('sweeps everything due with a moved clock: expiry fails pending domains, re-checks lapse verified ones', async () => {
    const clock = new ManualClock();
    const own = await startIsolatedTestApp({ ...env(), DOMAIN_LAPSE_FAILURES: '2', DOMAIN_LAPSE_GRACE_HOURS: '24' }, clock);
    try {
      const domains = own.app.get(DomainsService);
      const org = await createOrganization(own);
      const stale = await own.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(own.keys.csr)).send({ name: `${unique('never')}.example.com` }).expect(201);
      const kept = await own.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(own.keys.csr)).send({ name: `${unique('kept')}.example.com` }).expect(201);
      dns.txt(kept.body.challenge.recordName, [kept.body.challenge.recordValue]);
      await own.http.post(`/v1/domains/${kept.body.id}/verify`).set(bearer(own.keys.csr)).expect(200);
      dns.remove(kept.body.challenge.recordName);

      const start = clock.now().getTime();
      for (const hours of [24, 48, 7 * 24 + 1, 8 * 24]) {
        clock.set(new Date(start + hours * HOUR));
        await domains.runDue();
      }
      const status = async (id: string) => (await own.prisma.domain.findUniqueOrThrow({ where: { id } })).status;
      expect(await status(stale.body.id)).toBe('failed');
      expect(await status(kept.body.id)).toBe('lapsed');
      const actions = (await auditTrail(own, kept.body.id)).map((event) => event.action);
      expect(actions).toEqual(['domain.created', 'domain.verified', 'domain.failing', 'domain.lapsed']);
    } finally {
      await own.close();
    }
  });

  it('runs alone (npm run start:worker) on DATABASE_URL, and stops on SIGTERM with exit 0', async () => {
    const child = spawn(process.execPath, [WORKER_MAIN], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run = new ProcessOutput(child);
    await run.waitFor((text) => text.includes(`[helopass-worker] running as process ${child.pid}`), 'the worker said it started', 30_000);
    expect(run.text).not.toContain('embedded PostgreSQL');
    child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.text).toContain('[helopass-worker] SIGTERM: stopping');
  });

  it('started by npm start, reports ready over IPC and stops by itself when that process goes away', async () => {
    const child = fork(WORKER_MAIN, [], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', MIGRATE_ON_START: 'false', ...env() },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const run = new ProcessOutput(child);
    const ready = await new Promise<unknown>((resolve) => child.once('message', resolve));
    expect(ready).toEqual({ type: 'helopass-worker-ready' });
    child.disconnect(); // what the worker sees when the API process dies without stopping it
    expect(await run.exited).toBe(0);
    expect(run.text).toContain('[helopass-worker] the API process went away: stopping');
  });
});
