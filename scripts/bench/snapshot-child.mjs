// Child process of scripts/bench/snapshot.mjs: measures one snapshot size in
// a fresh process, so that its RSS and peak RSS are its own.
//   --mode=pure --n=N --runs=R   buildSnapshot() on N in-memory entries
//   --mode=db   --n=N --runs=R   SnapshotStore.reload() of a HeloPass app
//                                (createApp, no HTTP listener) on DATABASE_URL
//   --mode=db-lifted ...         the same read and build outside the app, with
//                                Prisma's 5 s transaction timeout lifted
// Reports { type: 'result', ... } to its parent.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { benchEntries, bumpFeedVersion, childMain, importDist, parseArgs } from './lib.mjs';

const args = parseArgs();
const N = Number(args.n);
const RUNS = Number(args.runs ?? 3);

const rss = () => process.memoryUsage().rss;
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const heapUsed = () => process.memoryUsage().heapUsed;

function timed(fn) {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

/** The stages of buildSnapshot() one by one (same library functions, same order). */
function breakdown(lib, signer, entries) {
  const { inEffectAt, lastTransition, nextTransition, listedAddresses, renderAll, RENDERINGS } = lib;
  const now = new Date();
  const stages = [];
  const stage = (name, fn) => {
    const { value, ms } = timed(fn);
    stages.push([name, ms]);
    return value;
  };
  const current = stage('filter in effect', () => entries.filter((entry) => inEffectAt(entry, now)));
  stage('last/next transition', () => [lastTransition(entries, now), nextTransition(entries, now)]);
  // renderAll() does these two sorts itself, then the texts: timed apart here to show their share
  stage('  sort addresses (listedAddresses, ipaddr.parse per comparison)', () => listedAddresses(current));
  stage('  sort entries for JSON (localeCompare)', () =>
    [...current].sort((a, b) => a.heloHostname.localeCompare(b.heloHostname) || a.exceptionId.localeCompare(b.exceptionId)),
  );
  const texts = stage('renderAll (both sorts above + JSON + 4 texts)', () => renderAll(current, { version: 1n, asOf: now }));
  const bodies = stage('Buffer.from (UTF-8)', () => RENDERINGS.map((r) => Buffer.from(texts[r], 'utf8')));
  stage('sha256 ETags', () => bodies.map((body) => createHash('sha256').update(body).digest('base64url')));
  stage('gzip', () => bodies.map((body) => gzipSync(body)));
  stage('Ed25519 signatures', () => bodies.map((body) => signer.sign(body)));
  return { stages, bytes: Object.fromEntries(RENDERINGS.map((r, i) => [r, bodies[i].length])) };
}

async function pure({ onStop: _onStop }) {
  const lib = await importDist('libs/enforcement/src/index.js');
  const signer = lib.FeedSigner.generate();
  const sign = (body) => signer.sign(body);
  const rssStart = rss();
  const generated = timed(() => benchEntries(N));
  const entries = generated.value;
  const rssEntries = rss();
  const runs = [];
  let previous;
  for (let run = 0; run < RUNS; run += 1) {
    const now = new Date();
    const built = timed(() => lib.buildSnapshot(entries, BigInt(run + 1), now, now, previous, sign));
    previous = built.value;
    runs.push({ ms: built.ms, rss: rss(), heapUsed: heapUsed() });
  }
  const parts = breakdown(lib, signer, entries);
  process.send({
    type: 'result',
    mode: 'pure',
    n: N,
    generateMs: generated.ms,
    rssStart,
    rssEntries,
    runs,
    parts,
    rssEnd: rss(),
    peakRss: peakRss(),
    entries: previous.entries.length,
  });
}

async function db({ onStop }) {
  const { loadConfig } = await importDist('libs/config/src/index.js');
  const { createApp } = await importDist('apps/api/src/bootstrap.js');
  const { SnapshotStore, AllowlistRepository } = await importDist('libs/enforcement/src/index.js');
  const rssStart = rss();
  // No version polling during the measurement: an extra reload would be counted in ours.
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', FEED_POLL_SECONDS: '3600', RUN_WORKER: 'false' });
  const started = performance.now();
  let app;
  try {
    app = await createApp(config); // its SnapshotStore loads the list once on start
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() : String(error);
    throw new Error(`the app did not start (its SnapshotStore's first load failed?): ${message}`, { cause: error });
  }
  onStop(() => app.close());
  const startupMs = performance.now() - started;
  const rssStarted = rss();
  const store = app.get(SnapshotStore);
  const repository = app.get(AllowlistRepository);
  const writer = new pg.Client({ connectionString: config.databaseUrl });
  await writer.connect();
  onStop(() => writer.end());

  const runs = [];
  for (let run = 0; run < RUNS; run += 1) {
    // A change, as a grant makes it, but without NOTIFY: only our reload() may see it.
    await writer.query('BEGIN');
    const version = await bumpFeedVersion(writer, false);
    await writer.query('COMMIT');
    const start = performance.now();
    await store.reload();
    const ms = performance.now() - start;
    // A failed load is not thrown: the store keeps its last snapshot and marks itself stale.
    const failed = store.current().version !== version;
    runs.push({ ms, rss: rss(), heapUsed: heapUsed(), failed });
  }
  // The first half of a reload alone: the database read (query + rows to entries).
  let loadMs = NaN;
  let loadError;
  try {
    const start = performance.now();
    await repository.load(new Date());
    loadMs = performance.now() - start;
  } catch (error) {
    loadError = error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() : String(error);
  }
  const snapshot = store.current();
  process.send({
    type: 'result',
    mode: 'db',
    n: N,
    startupMs,
    rssStart,
    rssStarted,
    runs,
    loadMs,
    loadError,
    rssEnd: rss(),
    peakRss: peakRss(),
    entries: app.get(SnapshotStore).statistics().version,
    bytes: Object.fromEntries(Object.entries(snapshot.renderings).map(([name, r]) => [name, r.body.length])),
  });
}

/**
 * What reload() would cost if the read were allowed to take its time: the
 * same transaction and query as AllowlistRepository.load(), but with Prisma's
 * interactive-transaction timeout raised from its 5 s default, then the same
 * buildSnapshot(). Used when the app itself cannot load the list.
 */
async function dbLifted({ onStop }) {
  const { loadConfig } = await importDist('libs/config/src/index.js');
  const { PrismaService } = await importDist('libs/database/src/index.js');
  const { buildSnapshot, FeedSigner } = await importDist('libs/enforcement/src/index.js');
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const rssStart = rss();
  const prisma = new PrismaService(config);
  onStop(() => prisma.$disconnect());
  const signer = FeedSigner.generate();
  const load = (now) =>
    prisma.$transaction(
      async (tx) => {
        const head = await tx.feedState.findUniqueOrThrow({ where: { id: 1 } });
        const rows = await tx.$queryRaw`
          SELECT e.id, e.organization_id, e.scope, e.helo_hostname, e.addresses, e.starts_at, e.expires_at
          FROM exceptions e JOIN organizations o ON o.id = e.organization_id
          WHERE e.status = 'active' AND o.status = 'active' AND e.expires_at > ${now}`;
        const candidates = rows.map((row) => ({
          exceptionId: row.id,
          organizationId: row.organization_id,
          scope: row.scope,
          heloHostname: row.helo_hostname,
          addresses: row.addresses,
          startsAt: row.starts_at,
          expiresAt: row.expires_at,
        }));
        return { head, candidates };
      },
      { isolationLevel: 'RepeatableRead', timeout: 30 * 60_000, maxWait: 60_000 },
    );
  const runs = [];
  let previous;
  let loadMs = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const start = performance.now();
    const now = new Date();
    const { head, candidates } = await load(now);
    const read = performance.now() - start;
    previous = buildSnapshot(candidates, head.version, head.changedAt, now, previous, (body) => signer.sign(body));
    runs.push({ ms: performance.now() - start, readMs: read, rss: rss(), heapUsed: heapUsed() });
    loadMs = read;
  }
  process.send({
    type: 'result',
    mode: 'db-lifted',
    n: N,
    rssStart,
    rssStarted: rssStart,
    runs,
    loadMs,
    rssEnd: rss(),
    peakRss: peakRss(),
    entries: previous.entries.length,
  });
}

childMain(async (context) => {
  if (args.mode === 'pure') {
    await pure(context);
  } else if (args.mode === 'db') {
    await db(context);
  } else if (args.mode === 'db-lifted') {
    await dbLifted(context);
  } else {
    throw new Error('--mode must be pure, db or db-lifted');
  }
});
