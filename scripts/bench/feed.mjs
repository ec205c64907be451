// Feed throughput: the HeloPass feed against a bare node:http server that
// serves the same bytes with the same headers and 304 logic.
//
//   npx nest build api && npm exec -- node scripts/bench/feed.mjs
//     --exceptions=100000   size of the list (default 100 000)
//     --connections=10 --duration=10 --warmup=2   autocannon, per measurement
//     --rounds=3            measurements per server and scenario, alternating
//                           feed and bare; the figures are the medians
//     --diagnose            also: CPU profiles of the feed and of the bare
//                           server under the 304 and 200 loads (µs per request
//                           and part of the pipeline), the feed with
//                           LOG_LEVEL=warn, and a bare Fastify route
//     --keep-profile=BASE   with --diagnose: keep the profiles as
//                           BASE-{feed,bare}-{304,200}.cpuprofile (Chrome DevTools
//                           opens them; scripts/bench/cpuprofile.mjs sums them up)
//
// One throwaway database (dropped at the end), one API process and one bare
// server process (each a child of this one, same Node binary and flags),
// autocannon in this process. Besides throughput it records the CPU time each
// server process spent (from /proc), so that requests per CPU-second compare
// the two even when other work shares the machine. Target: feed / bare >= 0.7
// for 304 polls and for full 200 bodies. Exit code 0 when met, 3 when not.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { FEED_BUCKETS, summarize } from './cpuprofile.mjs';
import {
  onCleanup,
  openBenchDatabase,
  parseArgs,
  processCpuSeconds,
  runBench,
  say,
  seedExceptions,
  startChild,
  table,
} from './lib.mjs';

const args = parseArgs();
const EXCEPTIONS = Number(args.exceptions ?? 100_000);
const CONNECTIONS = Number(args.connections ?? 10);
const DURATION = Number(args.duration ?? 10);
const WARMUP = Number(args.warmup ?? 2);
const ROUNDS = Number(args.rounds ?? 3);
const DIAGNOSE = Boolean(args.diagnose);
const TARGET = 0.7;
const PATH = '/v1/allowlist/postfix-cidr';

/** One raw HTTP exchange (no decompression), for fetching the reference bytes and checking the baseline. */
function fetchRaw(port, headers, method = 'GET') {
  return new Promise((resolveFetch, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: PATH, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolveFetch({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function load(port, headers, seconds) {
  return autocannon({
    url: `http://127.0.0.1:${port}${PATH}`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    headers,
    timeout: 10,
  });
}

/** One measurement: req/s and bytes/s over the whole run, the server's and the client's CPU use. */
async function measureOnce(server, headers, expectStatus) {
  const cpuBefore = processCpuSeconds(server.pid);
  const clientBefore = process.cpuUsage();
  const result = await load(server.port, headers, DURATION);
  const client = process.cpuUsage(clientBefore);
  const cpu = processCpuSeconds(server.pid) - cpuBefore;
  const count = Object.values(result.statusCodeStats).reduce((sum, s) => sum + s.count, 0);
  return {
    count,
    rps: count / result.duration,
    bytesPerSec: result.throughput.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    serverCpu: cpu,
    serverCpuShare: cpu / result.duration,
    clientCpuShare: (client.user + client.system) / 1e6 / result.duration,
    load1: loadavg()[0],
    errors: result.errors + result.timeouts,
    unexpected: count - (result.statusCodeStats[expectStatus]?.count ?? 0),
    statuses: Object.keys(result.statusCodeStats).join('/'),
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The runs of one server in one scenario, summarized. */
function combine(runs) {
  const byRps = [...runs].sort((a, b) => a.rps - b.rps);
  const mid = byRps[Math.floor((byRps.length - 1) / 2)];
  const requests = runs.reduce((sum, r) => sum + r.count, 0);
  const cpu = runs.reduce((sum, r) => sum + r.serverCpu, 0);
  return {
    runs,
    rps: median(runs.map((r) => r.rps)),
    bytesPerSec: median(runs.map((r) => r.bytesPerSec)),
    p50: mid.p50,
    p99: mid.p99,
    perCpuSecond: requests / cpu,
    serverCpuShare: median(runs.map((r) => r.serverCpuShare)),
    clientCpuShare: median(runs.map((r) => r.clientCpuShare)),
    load1: Math.max(...runs.map((r) => r.load1)),
    errors: runs.reduce((sum, r) => sum + r.errors + r.unexpected, 0),
  };
}

/** Warm-up (not counted) for each server, then ROUNDS measurements alternating which goes first. */
async function compare(servers, headers, expectStatus) {
  const runs = servers.map(() => []);
  if (WARMUP > 0) {
    for (const server of servers) {
      await load(server.port, headers, WARMUP);
    }
  }
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? servers.map((_, i) => i) : servers.map((_, i) => servers.length - 1 - i);
    for (const i of order) {
      runs[i].push(await measureOnce(servers[i], headers, expectStatus));
    }
  }
  return runs.map(combine);
}

const SCENARIOS = (key, etag) => [
  {
    name: '304 poll (If-None-Match)',
    status: 304,
    headers: { authorization: `Bearer ${key}`, 'if-none-match': etag },
    target: true,
  },
  { name: '200 full body', status: 200, headers: { authorization: `Bearer ${key}` }, target: true },
  {
    name: '200 full body, gzip',
    status: 200,
    headers: { authorization: `Bearer ${key}`, 'accept-encoding': 'gzip' },
    target: false,
  },
];

function row(scenarioName, serverName, r, withBytes, ratio) {
  return [
    scenarioName,
    serverName,
    r.rps.toFixed(0),
    withBytes ? (r.bytesPerSec / 1e6).toFixed(1) : '',
    `${r.p50} / ${r.p99}`,
    r.perCpuSecond.toFixed(0),
    `${(100 * r.serverCpuShare).toFixed(0)} %`,
    `${(100 * r.clientCpuShare).toFixed(0)} %`,
    r.load1.toFixed(1),
    ratio,
  ];
}

const HEAD = ['scenario', 'server', 'req/s', 'MB/s', 'lat. p50/p99 ms', 'req/CPU-s', 'server CPU', 'client CPU', 'load', 'feed/bare'];

async function main() {
  say(`Node ${process.version}, ${cpus().length} CPUs; ${EXCEPTIONS} exceptions; autocannon ${CONNECTIONS} connections, ` +
    `${ROUNDS} × ${DURATION} s (+${WARMUP} s warm-up) per server and scenario`);
  const db = await openBenchDatabase('feed');
  let started = Date.now();
  await seedExceptions(db.url, 0, EXCEPTIONS);
  say(`seeded ${EXCEPTIONS} exceptions in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  started = Date.now();
  const feed = startChild('feed-server.mjs', { env: { DATABASE_URL: db.url }, label: 'feed server' });
  const { port: feedPort, key } = await feed.next('ready');
  say(`feed: HeloPass API process ${feed.pid} on port ${feedPort}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // The reference bytes: exactly what the feed serves.
  const plain = await fetchRaw(feedPort, { authorization: `Bearer ${key}` });
  const zipped = await fetchRaw(feedPort, { authorization: `Bearer ${key}`, 'accept-encoding': 'gzip' });
  if (plain.status !== 200 || zipped.status !== 200 || zipped.headers['content-encoding'] !== 'gzip') {
    throw new Error(`the feed answered ${plain.status}/${zipped.status}`);
  }
  const lines = plain.body.toString('utf8').split('\n').filter((line) => line.endsWith(' OK')).length;
  if (lines !== EXCEPTIONS) {
    throw new Error(`the feed lists ${lines} addresses, expected ${EXCEPTIONS}`);
  }
  const etag = plain.headers.etag;
  say(`postfix-cidr: ${lines} lines, ${(plain.body.length / 1e6).toFixed(2)} MB (gzip ${(zipped.body.length / 1e6).toFixed(2)} MB), ETag ${etag}`);

  const dir = mkdtempSync(join(tmpdir(), 'helopass-bench-feed-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'body'), plain.body);
  writeFileSync(join(dir, 'body.gz'), zipped.body);
  writeFileSync(
    join(dir, 'meta.json'),
    JSON.stringify({
      path: PATH,
      key,
      etag,
      lastModified: plain.headers['last-modified'],
      lastModifiedMs: Date.parse(plain.headers['last-modified']),
      version: plain.headers['x-allowlist-version'],
      contentType: plain.headers['content-type'],
    }),
  );
  const bare = startChild('bare-server.mjs', { args: [`--dir=${dir}`, '--kind=http'], label: 'bare server' });
  const { port: barePort } = await bare.next('ready');
  say(`bare: node:http process ${bare.pid} on port ${barePort}`);

  // The baseline must answer as the feed does: same status, validators and bytes.
  for (const scenario of SCENARIOS(key, etag)) {
    const [a, b] = await Promise.all([fetchRaw(feedPort, scenario.headers), fetchRaw(barePort, scenario.headers)]);
    for (const header of ['etag', 'last-modified', 'x-allowlist-version', 'content-type', 'content-encoding', 'cache-control', 'vary']) {
      if (a.headers[header] !== b.headers[header]) {
        throw new Error(`${scenario.name}: header ${header} differs: feed ${a.headers[header]}, bare ${b.headers[header]}`);
      }
    }
    if (a.status !== scenario.status || b.status !== scenario.status || !a.body.equals(b.body)) {
      throw new Error(`${scenario.name}: feed ${a.status} / bare ${b.status}, bodies equal: ${a.body.equals(b.body)}`);
    }
  }
  say('checked: the bare server answers every scenario with the same status, validators and bytes as the feed');

  const servers = [
    { name: 'HeloPass feed', pid: feed.pid, port: feedPort },
    { name: 'bare node:http', pid: bare.pid, port: barePort },
  ];
  const rows = [];
  const results = [];
  for (const scenario of SCENARIOS(key, etag)) {
    say(`measuring: ${scenario.name} …`);
    const [f, b] = await compare(servers, scenario.headers, scenario.status);
    if (f.errors + b.errors > 0) {
      throw new Error(`${scenario.name}: ${f.errors} errors or unexpected statuses from the feed, ${b.errors} from the bare server`);
    }
    const ratio = f.rps / b.rps;
    const cpuRatio = f.perCpuSecond / b.perCpuSecond;
    const withBytes = scenario.status === 200;
    rows.push(row(scenario.name, servers[0].name, f, withBytes, ''));
    rows.push(row('', servers[1].name, b, withBytes, `${ratio.toFixed(2)} (CPU ${cpuRatio.toFixed(2)})`));
    results.push({ scenario, ratio, cpuRatio, feed: f, bare: b });
  }

  console.log(
    `\nFeed throughput: ${EXCEPTIONS} exceptions, postfix-cidr ${(plain.body.length / 1e6).toFixed(2)} MB ` +
      `(gzip ${(zipped.body.length / 1e6).toFixed(2)} MB), ${CONNECTIONS} connections, median of ${ROUNDS} × ${DURATION} s, ` +
      `loopback, Node ${process.version}, ${cpus().length} CPUs\n`,
  );
  console.log(table(HEAD, rows));
  console.log(
    '\nreq/CPU-s: requests answered per CPU-second the server process used (independent of other load);' +
      '\nfeed/bare: ratio of req/s (in brackets: of req/CPU-s); load: highest 1-min load average seen.\n',
  );
  let met = true;
  for (const { scenario, ratio, cpuRatio } of results) {
    const ok = ratio >= TARGET;
    if (scenario.target) {
      met &&= ok;
    }
    const verdict = scenario.target ? (ok ? 'TARGET MET    ' : 'TARGET MISSED ') : '(no target)   ';
    console.log(`${verdict} ${scenario.name}: feed/bare = ${ratio.toFixed(2)} (target >= ${TARGET}); per CPU-second ${cpuRatio.toFixed(2)}`);
  }
  console.log(`\nFEED TARGET (feed/bare >= ${TARGET} for 304 and 200): ${met ? 'MET' : 'NOT MET'}`);

  if (DIAGNOSE) {
    await diagnose({ db, key, etag, dir, feed, feedPort, bare, barePort, results });
  }
  return met ? 0 : 3;
}

/** Where the feed's time goes: CPU profiles of both servers, and variants. */
async function diagnose({ db, key, etag, dir, feed, feedPort, bare, barePort, results }) {
  const [poll, full] = SCENARIOS(key, etag);
  say('diagnostics …');
  const profDir = mkdtempSync(join(tmpdir(), 'helopass-bench-prof-'));
  onCleanup(() => rmSync(profDir, { recursive: true, force: true }));

  // 1. CPU profiles of the steady state, feed and bare, same load: µs of main-thread time per request and part
  const profiles = [];
  for (const scenario of [poll, full]) {
    const perServer = [];
    for (const [name, child, port] of [['feed', feed, feedPort], ['bare', bare, barePort]]) {
      const file = join(profDir, `${name}-${scenario.status}.cpuprofile`);
      await load(port, scenario.headers, WARMUP || 1);
      child.send({ type: 'profile-start' });
      await child.next('profiling');
      const run = await measureOnce({ port, pid: child.pid }, scenario.headers, scenario.status);
      child.send({ type: 'profile-stop', file });
      await child.next('profiled');
      const summary = summarize(JSON.parse(readFileSync(file, 'utf8')), { top: 30, buckets: FEED_BUCKETS });
      perServer.push({ name, file, run, summary });
    }
    profiles.push({ scenario, perServer });
  }
  const keep = typeof args['keep-profile'] === 'string' ? args['keep-profile'].replace(/\.cpuprofile$/, '') : undefined;
  if (keep) {
    for (const { scenario, perServer } of profiles) {
      for (const { name, file } of perServer) {
        copyFileSync(file, `${keep}-${name}-${scenario.status}.cpuprofile`);
      }
    }
    say(`CPU profiles kept as ${keep}-{feed,bare}-{304,200}.cpuprofile`);
  }
  await feed.stop();

  const variantRow = (name, p, f) => [
    name,
    p.rps.toFixed(0),
    (p.rps / results[0].bare.rps).toFixed(2),
    p.perCpuSecond.toFixed(0),
    (p.perCpuSecond / results[0].bare.perCpuSecond).toFixed(2),
    f.rps.toFixed(0),
    (f.rps / results[1].bare.rps).toFixed(2),
    f.perCpuSecond.toFixed(0),
    (f.perCpuSecond / results[1].bare.perCpuSecond).toFixed(2),
  ];
  const rows = [
    variantRow('bare node:http (baseline, as above)', results[0].bare, results[1].bare),
    variantRow('HeloPass feed (as above)', results[0].feed, results[1].feed),
  ];
  const measureAlone = async (port, pid, headers, status) => {
    await load(port, headers, WARMUP || 1);
    const runs = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      runs.push(await measureOnce({ port, pid }, headers, status));
    }
    return combine(runs);
  };

  // 2. the feed without the per-request log line (pino-http still runs, its info line is filtered out)
  const quiet = startChild('feed-server.mjs', { env: { DATABASE_URL: db.url, LOG_LEVEL: 'warn' }, label: 'feed (LOG_LEVEL=warn)' });
  const q = await quiet.next('ready');
  const withKey = (headers) => ({ ...headers, authorization: `Bearer ${q.key}` });
  const qPoll = await measureAlone(q.port, quiet.pid, withKey(poll.headers), 304);
  const qFull = await measureAlone(q.port, quiet.pid, withKey(full.headers), 200);
  rows.push(variantRow('HeloPass feed, LOG_LEVEL=warn', qPoll, qFull));
  await quiet.stop();

  // 3. a bare Fastify route with the same logic: the HTTP framework's own share
  const fastify = startChild('bare-server.mjs', { args: [`--dir=${dir}`, '--kind=fastify'], label: 'bare fastify' });
  const fy = await fastify.next('ready');
  const fyPoll = await measureAlone(fy.port, fastify.pid, poll.headers, 304);
  const fyFull = await measureAlone(fy.port, fastify.pid, full.headers, 200);
  rows.push(variantRow('bare Fastify route, same logic', fyPoll, fyFull));
  await fastify.stop();

  console.log('\nDiagnostics (1): variants, each against the bare node:http figures above\n');
  console.log(
    table(['server', '304 req/s', 'ratio', '304 req/CPU-s', 'ratio', '200 req/s', 'ratio', '200 req/CPU-s', 'ratio'], rows),
  );

  for (const { scenario, perServer } of profiles) {
    const [f, b] = perServer;
    const usPerRequest = (p, ms) => (p.run.count > 0 ? ((1000 * ms) / p.run.count).toFixed(1) : '');
    const names = [...new Set([...f.summary.bucketMs.keys(), ...b.summary.bucketMs.keys()])];
    const partRows = names.map((name) => [
      name,
      usPerRequest(f, f.summary.bucketMs.get(name) ?? 0),
      usPerRequest(b, b.summary.bucketMs.get(name) ?? 0),
    ]);
    partRows.push(['total main-thread time', usPerRequest(f, f.summary.busyMs), usPerRequest(b, b.summary.busyMs)]);
    console.log(
      `\nDiagnostics (2): ${scenario.name}, CPU profile of ${DURATION} s each (sampled every 1 ms; ` +
        `feed ${f.run.rps.toFixed(0)} req/s, bare ${b.run.rps.toFixed(0)} req/s under the profiler): µs per request\n`,
    );
    console.log(table(['part', 'feed µs/req', 'bare µs/req'], partRows));
    if (scenario.status === 304) {
      console.log('\nfeed, 304: heaviest functions (self time)\n' + table(['function', 'self'], f.summary.byFrame.slice(0, 20)));
    }
  }
}

runBench(main, 20 * 60);
