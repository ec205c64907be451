import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { ManualClock } from '@app/domain';
import { RETENTION_QUEUE, RetentionService, startWorker, WorkerModule, type RunningWorker } from '@app/worker';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { bearer, createOrganization, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

describe('retention: the worker purges what would otherwise grow without end', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let context: INestApplicationContext;
  let worker: RunningWorker | undefined;
  // Domains are claimed and checked 100 days ago, and again "now".
  const clock = new ManualClock(new Date(Date.now() - 100 * DAY));
  const env = () => ({
    DNS_RESOLVERS: dns.address,
    DNS_TIMEOUT_MS: '300',
    DNS_TRIES: '1',
    DOMAIN_CHECK_RETENTION_DAYS: '30',
    DOMAIN_CHECK_HISTORY_MAX: '12',
  });

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp(env(), clock);
    const config = loadConfig({ DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', ...env() });
    context = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, clock), { logger: false });
  });
  afterAll(async () => {
    await worker?.stop();
    await context?.close();
    await t?.close();
    await dns?.stop();
  });

  /** A pending domain checked `times` times, a minute apart from the clock's now; answers its attempt ids, newest first. */
  async function checkedDomain(organizationId: string, times: number): Promise<{ id: string; attempts: string[] }> {
    const domain = await t.http
      .post(`/v1/organizations/${organizationId}/domains`)
      .set(bearer(t.keys.csr))
      .send({ name: `${unique('kept')}.example.com` })
      .expect(201);
    for (let i = 0; i < times; i += 1) {
      clock.advance(MINUTE);
      await t.http.post(`/v1/domains/${domain.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    }
    return { id: domain.body.id, attempts: await attempts(domain.body.id) };
  }

  async function attempts(domainId: string): Promise<string[]> {
    const response = await t.http.get(`/v1/domains/${domainId}/attempts`).query({ limit: 200 }).set(bearer(t.keys.auditor)).expect(200);
    return (response.body.items as { id: string }[]).map((item) => item.id);
  }

  async function idempotentCreate(key: string, name: string) {
    return t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('idempotency-key', key).send({ name }).expect(201);
  }

  it('keeps each domain’s latest checks (at most DOMAIN_CHECK_HISTORY_MAX, the latest 10 whatever their age) and forgets idempotency keys past their retention, a bounded batch at a time', async () => {
    const org = await createOrganization(t);
    const old = await checkedDomain(org.id, 13); // 100 days ago: past DOMAIN_CHECK_RETENTION_DAYS
    clock.set(new Date());
    const busy = await checkedDomain(org.id, 15); // recent, but more than DOMAIN_CHECK_HISTORY_MAX
    const quiet = await checkedDomain(org.id, 4);
    expect([old.attempts.length, busy.attempts.length, quiet.attempts.length]).toEqual([13, 15, 4]);

    // Two requests with Idempotency-Key, the second a few milliseconds after the first.
    const [earlyKey, lateKey] = [randomUUID(), randomUUID()];
    const [earlyName, lateName] = [unique('Early'), unique('Late')];
    await idempotentCreate(earlyKey, earlyName);
    await idempotentCreate(lateKey, lateName);
    const record = (key: string) => t.prisma.idempotencyRecord.findFirst({ where: { apiKeyId: t.keys.csr.id, key } });
    const [early, late] = [(await record(earlyKey))!, (await record(lateKey))!];
    expect(late.createdAt.getTime() - early.createdAt.getTime()).toBeGreaterThanOrEqual(2);
    // IDEMPOTENCY_RETENTION_HOURS (24) after a moment between the two.
    clock.set(new Date((early.createdAt.getTime() + late.createdAt.getTime()) / 2 + 24 * 3_600_000));

    const retention = context.get(RetentionService);
    // Bounded: two statements of two rows at most per table.
    expect(await retention.purge({ batchSize: 2, maxBatches: 2 })).toEqual({ idempotencyRecords: 1, domainChecks: 4, feedChanges: 0 });
    expect(await retention.purge({ batchSize: 2, maxBatches: 2 })).toEqual({ idempotencyRecords: 0, domainChecks: 2, feedChanges: 0 });
    expect(await retention.purge()).toEqual({ idempotencyRecords: 0, domainChecks: 0, feedChanges: 0 });

    // What a CSR sees: the newest attempts, in the same order.
    expect(await attempts(old.id)).toEqual(old.attempts.slice(0, 10));
    expect(await attempts(busy.id)).toEqual(busy.attempts.slice(0, 12));
    expect(await attempts(quiet.id)).toEqual(quiet.attempts);

    expect(await record(earlyKey)).toBeNull();
    expect(await record(lateKey)).not.toBeNull();
    // The forgotten key runs as a new request; the remembered one still replays.
    const replayed = await idempotentCreate(lateKey, lateName);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    const rerun = await idempotentCreate(earlyKey, earlyName);
    expect(rerun.headers['idempotent-replayed']).toBeUndefined();
    expect(await t.prisma.organization.count({ where: { name: earlyName } })).toBe(2);
    expect(await t.prisma.organization.count({ where: { name: lateName } })).toBe(1);
  });

  it('runs on its own schedule through the job queue', async () => {
    const config = loadConfig({ DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', ...env() });
    worker = await startWorker(config, { clock, pollingIntervalSeconds: 0.5 });
    const client = new pg.Client({ connectionString: t.databaseUrl });
    await client.connect();
    try {
      const schedules = await client.query<{ cron: string }>('SELECT cron FROM pgboss.schedule WHERE name = $1', [RETENTION_QUEUE]);
      expect(schedules.rows.map((row) => row.cron)).toEqual(['*/10 * * * *']);

      const key = randomUUID();
      await idempotentCreate(key, unique('Queued'));
      clock.set(new Date(Date.now() + 25 * 3_600_000));
      await worker.purgeNow();
      await expect
        .poll(async () => t.prisma.idempotencyRecord.count({ where: { apiKeyId: t.keys.csr.id, key } }), { timeout: 15_000, interval: 250 })
        .toBe(0);
    } finally {
      await client.end();
    }
  });
});
