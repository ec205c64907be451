// Child process of scripts/bench/core.mjs: one HeloPass API app (createApp
// from dist/, no HTTP listener) on DATABASE_URL, already seeded with N
// exceptions. Measures, in this process:
//   cold     createApp() until its SnapshotStore holds the list (the full load at start)
//   reload   one more full load on the warm process (what a gap or drift costs)
//   rss      RSS with every rendering built (all five are kept ready)
//   change   CPU of this process per single change: a grant committed (with the
//            application's FeedChangeLog.record) on a connection of its own, until
//            the store serves the new version; and the longest event-loop stall
// Reports { type: 'result', ... } to its parent.
import 'reflect-metadata';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pg from 'pg';
import { BENCH_ORG_ID, BENCH_SERVER_ID, childMain, importDist, parseArgs, recordFeedChange } from './lib.mjs';

const args = parseArgs();
const CHANGES = Number(args.changes ?? 20);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const cpuMs = (usage) => (usage.user + usage.system) / 1000;

childMain(async ({ onStop }) => {
  const { loadConfig } = await importDist('libs/config/src/index.js');
  const { createApp } = await importDist('apps/api/src/bootstrap.js');
  const { SnapshotStore } = await importDist('libs/enforcement/src/index.js');
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', FEED_POLL_SECONDS: '3600', FEED_DIGEST_SECONDS: '86400', RUN_WORKER: 'false' });
  const coldCpu = process.cpuUsage();
  const started = performance.now();
  const app = await createApp(config);
  onStop(() => app.close());
  const coldMs = performance.now() - started;
  const coldCpuMs = cpuMs(process.cpuUsage(coldCpu));
  const store = app.get(SnapshotStore);
  const jsonStart = performance.now();
  await store.rendering('json'); // every rendering ready: the JSON one is built on demand
  const jsonMs = performance.now() - jsonStart;
  globalThis.gc?.();
  const rssReady = process.memoryUsage().rss;
  const sizes = Object.fromEntries(Object.entries(store.current().renderings).filter(([, r]) => r).map(([name, r]) => [name, [r.body.length, r.gzip.length]]));

  const writer = new pg.Client({ connectionString: config.databaseUrl });
  await writer.connect();
  onStop(() => writer.end());
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const changes = [];
  for (let i = 0; i < CHANGES; i += 1) {
    await sleep(150);
    loop.enable();
    const cpu = process.cpuUsage();
    const start = performance.now();
    await writer.query('BEGIN');
    const { rows } = await writer.query(
      `INSERT INTO exceptions (id, organization_id, mail_server_id, scope, status, reason, starts_at, expires_at,
                               helo_hostname, addresses, evidence, requested_by, requested_by_name, requested_by_owner)
       VALUES (gen_random_uuid(), $1, $2, 'pair', 'active', 'one change', now() - interval '1 minute', now() + interval '30 days',
               $3, ARRAY[$4], '{}'::jsonb, gen_random_uuid(), 'bench', 'bench@example.test') RETURNING id`,
      [BENCH_ORG_ID, BENCH_SERVER_ID, `change${i}.bench.example`, `198.19.${i >> 8}.${i & 255}/32`],
    );
    const version = await recordFeedChange(writer, [rows[0].id]);
    await writer.query('COMMIT');
    while (store.current().version < version) {
      await sleep(1);
    }
    changes.push({ ms: performance.now() - start, cpuMs: cpuMs(process.cpuUsage(cpu)) });
    loop.disable();
  }
  const stallMs = loop.max / 1e6;

  const reloadCpu = process.cpuUsage();
  const reloadStart = performance.now();
  await store.reload();
  const reloadMs = performance.now() - reloadStart;
  const reloadCpuMs = cpuMs(process.cpuUsage(reloadCpu));
  globalThis.gc?.();
  process.send({
    type: 'result',
    coldMs,
    coldCpuMs,
    jsonMs,
    reloadMs,
    reloadCpuMs,
    rssReady,
    rssEnd: process.memoryUsage().rss,
    peakRss: process.resourceUsage().maxRSS * 1024,
    changes,
    stallMs,
    sizes,
    statistics: store.statistics(),
  });
});
