// bench:audit-writes — what the audit hash chain costs writers.
//
//   npm run bench:audit-writes [-- --duration=5 --levels=1,4,16,20,64]
//
// POST /v1/organizations (one audited write each) with autocannon at each
// number of connections, against three API processes on one database:
//   off           no chain (events written, never linked): the baseline
//   after-commit  the product: linked right after commit, in a short critical section
//   lock          the former design: one global lock held across every write's transaction
// Prints writes/s and p50/p95/p99 per level, the chain's length and whether
// it verifies. The targets: with the chain, throughput does not fall as
// connections grow, and p95 ≤ 50 ms at 20 concurrent writers.
import autocannon from 'autocannon';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fmtMs, openBenchDatabase, parseArgs, runBench, say, startChild, table } from './lib.mjs';

const args = parseArgs();
const DURATION = Number(args.duration ?? 5);
const LEVELS = String(args.levels ?? '1,4,16,20,64').split(',').map(Number);
const MODES = String(args.modes ?? 'off,after-commit,lock').split(',');

async function measure(port, key, connections) {
  let n = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    pipelining: 1,
    duration: DURATION,
    timeout: 20,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        path: '/v1/organizations',
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ name: `bench ${process.pid} ${connections} ${n++}` }) }),
      },
    ],
  });
  const created = result.statusCodeStats['201']?.count ?? 0;
  const all = Object.values(result.statusCodeStats).reduce((sum, s) => sum + s.count, 0);
  return {
    rps: created / result.duration,
    p50: result.latency.p50,
    p95: result.latency.p97_5 !== undefined ? percentileFromHistogram(result, 95) : result.latency.p90,
    p99: result.latency.p99,
    failed: all - created + result.errors + result.timeouts,
  };
}

/** autocannon reports p90, p97.5 and p99; p95 is interpolated between p90 and p97.5. */
function percentileFromHistogram(result, p) {
  const { p90, p97_5 } = result.latency;
  return p90 + ((p97_5 - p90) * (p - 90)) / 7.5;
}

runBench(async () => {
  const db = await openBenchDatabase('audit_writes');
  say(`Node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}; ${DURATION} s per level; levels ${LEVELS.join(', ')}`);
  const rows = [];
  const summary = {};
  for (const mode of MODES) {
    const server = startChild('audit-write-server.mjs', { env: { DATABASE_URL: db.url, AUDIT_BENCH_MODE: mode }, label: `api (${mode})` });
    const { port, key } = await server.next('ready');
    await measure(port, key, 4); // warm-up: JIT, pool, caches
    summary[mode] = {};
    for (const connections of LEVELS) {
      const m = await measure(port, key, connections);
      summary[mode][connections] = m;
      rows.push([mode, connections, m.rps.toFixed(0), fmtMs(m.p50), fmtMs(m.p95), fmtMs(m.p99), m.failed]);
      say(`${mode} @ ${connections}: ${m.rps.toFixed(0)} writes/s, p95 ${fmtMs(m.p95)}`);
    }
    await server.stop();
  }
  console.log('\n' + table(['chain', 'connections', 'writes/s', 'p50', 'p95', 'p99', 'failed'], rows));

  // The chain after all that: a process that chains links what the others left, and it verifies.
  const verifier = startChild('audit-write-server.mjs', { env: { DATABASE_URL: db.url }, label: 'api (verify)' });
  const ready = await verifier.next('ready');
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${ready.port}/v1/audit-events/verify`, { headers: { authorization: `Bearer ${ready.key}` } });
  const report = await response.json();
  say(`verify: ${response.status} valid=${report.valid}, ${report.checked} links checked in ${fmtMs(performance.now() - started)}`);
  await verifier.stop();

  const chained = summary['after-commit'];
  if (chained) {
    const first = chained[LEVELS[0]].rps;
    const last = chained[LEVELS.at(-1)].rps;
    say(`with the chain: ${first.toFixed(0)} writes/s at ${LEVELS[0]} → ${last.toFixed(0)} at ${LEVELS.at(-1)} connections` +
      (chained[20] ? `; p95 at 20 writers ${fmtMs(chained[20].p95)} (target ≤ 50 ms)` : ''));
  }
  return 0;
}, 900);
