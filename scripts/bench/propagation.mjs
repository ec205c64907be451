// Propagation: how long after a grant commits does ANOTHER process serve it?
//
//   npx nest build api && npm exec -- node scripts/bench/propagation.mjs
//     --sizes=1000,100000   list sizes, one after the other (default)
//     --changes=100         grants per size
//     --max-seconds=300     per size: stop earlier when this much time is spent
//     --readers=1           HeloPass API processes that must each show the change
//     --timeout-ms=30000    a change not visible by then counts as missed
//
// This script is the writer: each change is what a grant commits — one
// transaction inserting an active exception and recording the change with the
// application's own FeedChangeLog.record() (new version, change log, NOTIFY
// carrying the change) — on its own connection. The readers are separate API
// processes (createApp, as `npm start`), told of the change only by
// PostgreSQL (LISTEN/NOTIFY, or their version poll as the safety net). The
// delay runs from just before COMMIT is sent until a reader answers HEAD
// /v1/allowlist/postfix-cidr with the new X-Allowlist-Version (polled
// back-to-back on a kept-alive connection). Target: p99 <= 500 ms.
// Exit code 0 when met at every size, 3 when not.
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import pg from 'pg';
import {
  BENCH_ORG_ID,
  BENCH_SERVER_ID,
  recordFeedChange,
  fmtMs,
  openBenchDatabase,
  parseArgs,
  percentile,
  runBench,
  say,
  seedExceptions,
  startChild,
  table,
} from './lib.mjs';

const args = parseArgs();
const SIZES = String(args.sizes ?? '1000,100000').split(',').map(Number);
const CHANGES = Number(args.changes ?? 100);
const MAX_SECONDS = Number(args['max-seconds'] ?? 300);
const READERS = Number(args.readers ?? 1);
const TIMEOUT_MS = Number(args['timeout-ms'] ?? 30_000);
const TARGET_MS = 500;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** HEAD of the feed on a kept-alive connection: the version it serves now. */
function headVersion(reader) {
  return new Promise((resolveHead, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: reader.port,
        path: '/v1/allowlist/postfix-cidr',
        method: 'HEAD',
        agent: reader.agent,
        headers: { authorization: `Bearer ${reader.key}` },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolveHead(BigInt(res.headers['x-allowlist-version']))
            : reject(new Error(`HEAD answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Polls until the reader serves `version` or later; the instant it did, or null on timeout. */
async function waitFor(reader, version, deadline) {
  for (;;) {
    const served = await headVersion(reader);
    const now = performance.now();
    if (served >= version) {
      return now;
    }
    if (now > deadline) {
      return null;
    }
  }
}

async function grant(writer, index) {
  await writer.query('BEGIN');
  const { rows } = await writer.query(
    `INSERT INTO exceptions (id, organization_id, mail_server_id, scope, status, reason, starts_at, expires_at,
                             helo_hostname, addresses, evidence, requested_by, requested_by_name, requested_by_owner)
     VALUES (gen_random_uuid(), $1, $2, 'pair', 'active', 'benchmark grant', now(), now() + interval '90 days',
             $3, ARRAY[$4], '{}'::jsonb, gen_random_uuid(), 'bench', 'bench@example.test') RETURNING id`,
    [BENCH_ORG_ID, BENCH_SERVER_ID, `grant${index}.bench.example`, `198.18.${(index >> 8) & 255}.${index & 255}/32`],
  );
  const version = await recordFeedChange(writer, [rows[0].id]);
  const committing = performance.now();
  await writer.query('COMMIT');
  return { version, committing, committed: performance.now() };
}

async function runSize(db, size, seededSoFar, grantsSoFar) {
  await seedExceptions(db.url, seededSoFar, size);
  const readers = [];
  for (let i = 0; i < READERS; i += 1) {
    const child = startChild('feed-server.mjs', { env: { DATABASE_URL: db.url }, label: `reader ${i + 1}` });
    const ready = await child.next('ready');
    readers.push({ child, port: ready.port, key: ready.key, agent: new Agent({ keepAlive: true, maxSockets: 1 }) });
  }
  say(`${size} exceptions: ${READERS} reader process(es) ready (${readers.map((r) => `pid ${r.child.pid} port ${r.port}`).join(', ')})`);
  const writer = new pg.Client({ connectionString: db.url });
  await writer.connect();

  const delays = [];
  const commits = [];
  let missed = 0;
  const started = performance.now();
  let done = 0;
  try {
    while (done < CHANGES && performance.now() - started < MAX_SECONDS * 1000) {
      const { version, committing, committed } = await grant(writer, grantsSoFar + done);
      commits.push(committed - committing);
      const seen = await Promise.all(readers.map((reader) => waitFor(reader, version, committing + TIMEOUT_MS)));
      for (const at of seen) {
        if (at === null) {
          missed += 1;
        } else {
          delays.push(at - committing);
        }
      }
      done += 1;
      await sleep(50 + Math.random() * 100); // changes apart, at no fixed phase of the readers' timers
    }
  } finally {
    await writer.end();
    for (const reader of readers) {
      reader.agent.destroy();
      await reader.child.stop();
    }
  }
  return { size, changes: done, delays, commits, missed, seconds: (performance.now() - started) / 1000 };
}

async function main() {
  say(`Node ${process.version}, ${cpus().length} CPUs; sizes ${SIZES.join(', ')}; up to ${CHANGES} grants per size (at most ${MAX_SECONDS} s); ${READERS} reader(s)`);
  const db = await openBenchDatabase('propagation');
  const results = [];
  let seeded = 0;
  let grants = 0;
  for (const size of [...SIZES].sort((a, b) => a - b)) {
    const result = await runSize(db, size, seeded, grants);
    seeded = size;
    grants += result.changes;
    results.push(result);
  }

  const rows = results.map((r) => {
    const sorted = [...r.delays].sort((a, b) => a - b);
    const p99 = percentile(sorted, 99);
    const ok = r.missed === 0 && p99 <= TARGET_MS;
    r.ok = ok;
    return [
      r.size,
      `${r.changes} × ${READERS}`,
      fmtMs(percentile(sorted, 50)),
      fmtMs(percentile(sorted, 95)),
      fmtMs(p99),
      fmtMs(sorted.at(-1)),
      fmtMs(sorted.reduce((a, b) => a + b, 0) / sorted.length),
      r.missed,
      `${percentile([...r.commits].sort((a, b) => a - b), 50).toFixed(1)} ms`,
      ok ? 'MET' : 'MISSED',
    ];
  });
  console.log(`\nPropagation: grant committed by this process → served by another API process, Node ${process.version}, ${cpus().length} CPUs\n`);
  console.log(table(['exceptions', 'changes × readers', 'p50', 'p95', 'p99', 'max', 'mean', 'missed', 'COMMIT p50', `p99 <= ${TARGET_MS} ms`], rows));
  console.log('\ndelay: from just before COMMIT until the reader\'s HEAD shows the new X-Allowlist-Version; ' +
    `missed: not visible within ${TIMEOUT_MS} ms.`);
  const met = results.every((r) => r.ok);
  console.log(`\nPROPAGATION TARGET (p99 <= ${TARGET_MS} ms): ${met ? 'MET' : 'NOT MET'}` +
    (met ? '' : ` (missed at ${results.filter((r) => !r.ok).map((r) => r.size).join(', ')} exceptions)`));
  return met ? 0 : 3;
}

runBench(main, 30 * 60);
