// bench:audit-export — the audit export streams in constant memory.
//
//   npm run bench:audit-export [-- --events=1000000 --small=10000]
//
// Seeds audit events and their chain links straight into a bench database
// (generated rows; the links' hashes are stand-ins: this measures the
// export, not verification), then downloads GET /v1/audit-events/export
// (NDJSON and CSV) from one API process, first over `small` events, then over
// all of them, sampling the server's resident memory every 100 ms. Constant
// memory: the peak over a million events stays near the peak over ten
// thousand (the baseline of the same run).
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { fmtMiB, fmtMs, openBenchDatabase, parseArgs, processRss, runBench, say, startChild, table } from './lib.mjs';

const args = parseArgs();
const EVENTS = Number(args.events ?? 1_000_000);
const SMALL = Number(args.small ?? 10_000);
// --heap=64: the API process runs with --max-old-space-size=64 (MiB): an export that held what it sent would die of it.
const HEAP = args.heap === undefined ? [] : [`--max-old-space-size=${Number(args.heap)}`];
/** The audit chain's critical section (AuditChainService). */
const CHAIN_LOCK = 72_0402_2;
const FORMATS = String(args.formats ?? 'ndjson,csv').split(',');

async function seed(url, from, to) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Bench data only: the guards and the chain's queue stay out of the way of a bulk insert.
    await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await client.query(
      `INSERT INTO audit_events (id, occurred_at, actor_id, actor_name, actor_role, action, entity_type, entity_id, organization_id, before, after, request_id)
       SELECT gen_random_uuid(), now() - (($2::int - i) * interval '1 second'), NULL, 'system:bench', 'system', 'bench.seeded', 'organization',
              gen_random_uuid(), NULL, NULL,
              jsonb_build_object('name', 'Organization ' || i, 'notes', '=SUM(A1:A9) seeded row ' || i, 'status', 'active'), 'req-' || i
       FROM generate_series($1::int, $2::int) AS i`,
      [from, to],
    );
    // Linked under the chain's own lock, leaving the events the app queued to the app.
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
    await client.query(
      `INSERT INTO audit_chain (position, event_id, prev_hash, hash)
       SELECT row_number() OVER (ORDER BY seq) + (SELECT coalesce(max(position), 0) FROM audit_chain), id, encode(sha256(('p' || seq)::bytea), 'hex'), encode(sha256(('h' || seq)::bytea), 'hex')
       FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id)
         AND NOT EXISTS (SELECT 1 FROM audit_unchained u WHERE u.event_id = e.id)`,
    );
    await client.query('COMMIT');
    await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    await client.query('ANALYZE audit_events; ANALYZE audit_chain');
  } finally {
    await client.end();
  }
}

async function download(server, port, key, format) {
  let peak = processRss(server.pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, processRss(server.pid));
  }, 100);
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}/v1/audit-events/export?format=${format}`, { headers: { authorization: `Bearer ${key}` } });
  if (response.status !== 200) {
    throw new Error(`export answered ${response.status}: ${await response.text()}`);
  }
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body) {
    bytes += chunk.length;
    for (const byte of chunk) {
      if (byte === 10) {
        lines += 1;
      }
    }
  }
  clearInterval(sampler);
  return { status: response.status, ms: performance.now() - started, bytes, lines, peak };
}

runBench(async () => {
  const db = await openBenchDatabase('audit_export');
  const server = startChild('audit-write-server.mjs', { env: { DATABASE_URL: db.url }, nodeArgs: HEAP, label: 'api' });
  say(`API process ${HEAP.length > 0 ? `with ${HEAP[0]}` : 'with the default heap limit'}`);
  const { port, key } = await server.next('ready');
  const rows = [];
  let t0 = performance.now();
  await seed(db.url, 1, SMALL);
  say(`seeded ${SMALL} events in ${fmtMs(performance.now() - t0)}`);
  const idle = processRss(server.pid);
  for (const format of FORMATS) {
    const r = await download(server, port, key, format);
    rows.push([SMALL, format, r.status, r.lines, fmtMiB(r.bytes), fmtMs(r.ms), Math.round(r.lines / (r.ms / 1000)), fmtMiB(idle), fmtMiB(r.peak)]);
  }
  t0 = performance.now();
  await seed(db.url, SMALL + 1, EVENTS);
  say(`seeded up to ${EVENTS} events in ${fmtMs(performance.now() - t0)}`);
  for (const format of FORMATS) {
    const r = await download(server, port, key, format);
    rows.push([EVENTS, format, r.status, r.lines, fmtMiB(r.bytes), fmtMs(r.ms), Math.round(r.lines / (r.ms / 1000)), fmtMiB(idle), fmtMiB(r.peak)]);
  }
  console.log('\n' + table(['events', 'format', 'status', 'lines', 'size', 'time', 'lines/s', 'RSS before', 'RSS peak'], rows));
  await server.stop();
  return 0;
}, 1800);
