// bench:asof — what `?asOf=` costs at a million audit events: from the
// nearest snapshot of the allowlist's history plus the events after it,
// against replaying the whole trail (the reference), in the same run.
//
//   npm run bench:asof [-- --events=1000000 --exceptions=10000 --snapshots=100 --instants=5]
//
// Seeds `events` exception events straight into a bench database with
// generate_series (each exception moved through requested, granted,
// renewed, suspended, reactivated, revoked, … in turn, spread over a year,
// one feed version each), then asks for the list at `instants` instants
// spread over the year: first by replaying the trail, then — after the
// snapshots are recorded (one every events/snapshots events, each built from
// the one before) — from the snapshots. Both answers must be identical.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { fmtMs, importDist, openBenchDatabase, parseArgs, runBench, say, table } from './lib.mjs';

const args = parseArgs();
const EVENTS = Number(args.events ?? 1_000_000);
const EXCEPTIONS = Number(args.exceptions ?? 10_000);
const SNAPSHOTS = Number(args.snapshots ?? 100);
const INSTANTS = Number(args.instants ?? 5);
const START = Date.parse('2025-01-01T00:00:00.000Z');
const SPAN = 365 * 86_400_000;
const STEP_MS = SPAN / EVENTS;

async function seed(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Bench data only: the trail's guards, the chain's queue and the outbox stay out of the way of a bulk insert.
    await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    // Event i moves exception (i mod E) to the next state of its cycle; its window starts at the event and lasts 90 days.
    await client.query(
      `INSERT INTO audit_events (id, occurred_at, actor_name, actor_role, action, entity_type, entity_id, organization_id, before, after)
       SELECT gen_random_uuid(), at, 'system:bench', 'system', 'exception.' || (ARRAY['requested','granted','renewed','suspended','reactivated','revoked'])[k + 1],
              'exception', id, '00000000-0000-4000-8000-00000000b001', NULL,
              jsonb_build_object('id', id, 'organizationId', '00000000-0000-4000-8000-00000000b001', 'scope', 'ip',
                'status', (ARRAY['pending_approval','active','active','suspended','active','revoked'])[k + 1],
                'heloHostname', 'mx' || e || '.bench.example', 'addresses', jsonb_build_array('10.' || (e / 65536) || '.' || (e / 256 % 256) || '.' || (e % 256) || '/32'),
                'startsAt', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'expiresAt', to_char((at + interval '90 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
       FROM (SELECT i, i % $2 AS e, (i / $2) % 6 AS k, md5('bench-exception-' || (i % $2))::uuid AS id,
                    to_timestamp(($3::float8 + i * $4::float8) / 1000) AS at
             FROM generate_series(0, $1 - 1) AS i) g
       ORDER BY i`,
      [EVENTS, EXCEPTIONS, START, STEP_MS],
    );
    await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    // One feed version per change, as the service writes them.
    await client.query(
      `INSERT INTO feed_versions (version, changed_at) SELECT i + 1, to_timestamp(($2::float8 + i * $3::float8) / 1000) FROM generate_series(0, $1 - 1) AS i`,
      [EVENTS, START, STEP_MS],
    );
    await client.query('ANALYZE audit_events; ANALYZE feed_versions');
  } finally {
    await client.end();
  }
}

const same = (a, b) => JSON.stringify({ h: String(a.head.version), c: a.candidates }) === JSON.stringify({ h: String(b.head.version), c: b.candidates });

async function timed(work) {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

runBench(async () => {
  const db = await openBenchDatabase('asof');
  let t0 = performance.now();
  await seed(db.url);
  say(`seeded ${EVENTS} exception events over ${EXCEPTIONS} exceptions (and ${EVENTS} feed versions) in ${fmtMs(performance.now() - t0)}`);

  const { loadConfig } = await importDist('libs/config/src/index.js');
  const { PrismaService } = await importDist('libs/database/src/index.js');
  const { AllowlistHistory } = await importDist('libs/enforcement/src/index.js');
  const prisma = new PrismaService(loadConfig({ DATABASE_URL: db.url, DB_STATEMENT_TIMEOUT_MS: '600000' }));
  const history = new AllowlistHistory(prisma);
  try {
    // Between snapshots, never on one: the worst case is just before the next.
    const instants = Array.from({ length: INSTANTS }, (_, n) => new Date(START + Math.round(((n + 1) / INSTANTS) * SPAN * 0.999) - 1));
    const replayed = [];
    for (const instant of instants) {
      replayed.push(await timed(() => history.replayAt(instant)));
    }
    t0 = performance.now();
    let largest = 0;
    for (let n = 1; n <= SNAPSHOTS; n += 1) {
      const cut = new Date(START + Math.floor((n * EVENTS) / SNAPSHOTS - 1) * STEP_MS);
      largest = Math.max(largest, (await history.snapshot(cut)).entries);
    }
    const writing = performance.now() - t0;
    say(`recorded ${SNAPSHOTS} snapshots (one per ${Math.round(EVENTS / SNAPSHOTS)} events, up to ${largest} entries) in ${fmtMs(writing)}: ${fmtMs(writing / SNAPSHOTS)} each`);
    const [{ size }] = await prisma.$queryRawUnsafe(`SELECT pg_size_pretty(pg_total_relation_size('allowlist_state_snapshots')) AS size`);
    say(`snapshots take ${size} on disk`);

    const rows = [];
    let mismatches = 0;
    for (const [n, instant] of instants.entries()) {
      const fromSnapshot = await timed(() => history.at(instant));
      const equal = same(fromSnapshot.result, replayed[n].result);
      mismatches += equal ? 0 : 1;
      const before = Math.min(EVENTS, Math.floor((instant.getTime() - START) / STEP_MS) + 1);
      rows.push([
        instant.toISOString(),
        before,
        fromSnapshot.result.candidates.length,
        fmtMs(replayed[n].ms),
        fmtMs(fromSnapshot.ms),
        fromSnapshot.result.cost.eventsRead,
        `${(replayed[n].ms / fromSnapshot.ms).toFixed(0)}×`,
        equal ? 'yes' : 'NO',
      ]);
    }
    console.log(
      '\n' +
        table(['asOf', 'events up to it', 'exceptions listed', 'full replay', 'snapshot + events', 'exceptions moved since snapshot', 'faster', 'identical'], rows),
    );
    if (mismatches > 0) {
      console.error(`[bench] ${mismatches} answer(s) from snapshots differ from the replay`);
      return 1;
    }
    return 0;
  } finally {
    await prisma.$disconnect();
  }
}, 3600);
