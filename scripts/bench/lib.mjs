// Shared helpers of the benchmarks in scripts/bench/ (plain ESM against dist/:
// run `npx nest build api` first). Everything they start — databases, child
// processes — is registered here and stopped on exit, on Ctrl-C and on the
// watchdog, so that a benchmark never leaves anything running.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_DIR = join(ROOT, 'scripts', 'bench');

/** The server a bench database is created on (trust auth); an embedded PostgreSQL when it does not answer. */
export const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const DIST_MARKERS = [
  'apps/api/src/main.js',
  'apps/api/src/bootstrap.js',
  'libs/access/src/index.js',
  'libs/enforcement/src/index.js',
  'libs/config/src/index.js',
  'libs/database/src/index.js',
];
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/**
 * The built app the benchmarks run: a private copy of dist/ taken when a
 * benchmark starts (and shared with its children through HELOPASS_BENCH_DIST),
 * so that a `nest build` run meanwhile — which empties dist/ first — cannot
 * pull the code from under a running benchmark. The copy sits in a temporary
 * folder beside links to node_modules/ and prisma/ (module resolution and the
 * migrations), and is deleted at cleanup.
 */
async function distRoot() {
  if (process.env.HELOPASS_BENCH_DIST) {
    return process.env.HELOPASS_BENCH_DIST;
  }
  const source = join(ROOT, 'dist');
  for (let attempt = 0; ; attempt += 1) {
    if (DIST_MARKERS.every((marker) => existsSync(join(source, marker)))) {
      const base = mkdtempSync(join(tmpdir(), 'helopass-bench-dist-'));
      onCleanup(() => rmSync(base, { recursive: true, force: true }));
      cpSync(source, join(base, 'dist'), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(base, 'node_modules'), 'dir');
      symlinkSync(join(ROOT, 'prisma'), join(base, 'prisma'), 'dir');
      if (DIST_MARKERS.every((marker) => existsSync(join(base, 'dist', marker)))) {
        process.env.HELOPASS_BENCH_DIST = join(base, 'dist');
        return process.env.HELOPASS_BENCH_DIST;
      }
    }
    if (attempt >= 30) {
      throw new Error(`${source} is missing or incomplete: build the app first (npx nest build api)`);
    }
    await sleep(2000); // a build may be running
  }
}

let distReady;

/** Imports a module of the built app (dist/…, from the benchmark's private copy). */
export async function importDist(path) {
  distReady ??= distRoot();
  return import(pathToFileURL(join(await distReady, path)).href);
}

export const say = (line) => console.log(`[bench] ${line}`);

// ---------------------------------------------------------------------------
// Cleanup: everything started is stopped, in reverse order, exactly once.

const cleanups = [];
let cleaning;

export function onCleanup(fn) {
  cleanups.push(fn);
}

export function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop();
      try {
        await fn();
      } catch (error) {
        console.error('[bench] cleanup step failed:', error instanceof Error ? error.message : error);
      }
    }
  })();
  return cleaning;
}

/**
 * Runs `main` with cleanup on every way out, and a watchdog that stops the
 * whole benchmark after `limitSeconds` whatever happens.
 */
export function runBench(main, limitSeconds) {
  const watchdog = setTimeout(() => {
    console.error(`[bench] time limit of ${limitSeconds} s reached: stopping`);
    void cleanup().finally(() => process.exit(2));
  }, limitSeconds * 1000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`[bench] ${signal}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  // The private copy of dist/ first, so that every child started later shares it.
  (distReady ??= distRoot())
    .then(() => main())
    .then(
      (code) => cleanup().then(() => code ?? 0),
      (error) => {
        console.error('[bench] failed:', error instanceof Error ? (error.stack ?? error.message) : error);
        return cleanup().then(() => 1);
      },
    )
    .then((code) => {
      clearTimeout(watchdog);
      process.exit(code);
    });
}

// ---------------------------------------------------------------------------
// Databases

async function answers(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A throwaway database `helopass_bench_<label>_<random>` with every migration
 * applied, dropped (or, embedded, stopped and deleted) at cleanup.
 */
export async function openBenchDatabase(label) {
  const { applyMigrations, startEmbeddedDatabase } = await importDist('libs/database/src/index.js');
  const name = `helopass_bench_${label}_${randomBytes(4).toString('hex')}`;
  let url;
  let kind;
  if (await answers(ADMIN_URL)) {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    onCleanup(async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
      say(`dropped database ${name}`);
    });
    const target = new URL(ADMIN_URL);
    target.pathname = '/' + name;
    url = target.toString();
    kind = `PostgreSQL at ${new URL(ADMIN_URL).host}`;
  } else {
    say(`${ADMIN_URL} does not answer: starting an embedded PostgreSQL`);
    const dataDir = mkdtempSync(join(tmpdir(), 'helopass-bench-'));
    onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    const embedded = await startEmbeddedDatabase({
      dataDir,
      port: await freePort(),
      database: name,
      persistent: false,
    });
    onCleanup(() => embedded.stop());
    url = embedded.connectionString;
    kind = 'embedded PostgreSQL';
  }
  await applyMigrations(url);
  say(`database ${name} on ${kind}, migrated`);
  return { url, name, kind };
}

export const BENCH_ORG_ID = '00000000-0000-4000-8000-00000000b001';
export const BENCH_SERVER_ID = '00000000-0000-4000-8000-00000000b002';

/**
 * The address of bench exception number i, canonical as the app stores it:
 * nine in ten IPv4 /32 in 10.0.0.0/8, one in ten an IPv6 /64 (RFC 5952 text).
 * The SQL in seedExceptions() computes the same strings.
 */
export function benchAddress(i) {
  if (i % 10 === 9) {
    return `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`;
  }
  const n = (10 << 24) + i;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/32`;
}

const SEED_SQL = `
INSERT INTO exceptions (id, organization_id, mail_server_id, scope, status, reason, starts_at, expires_at,
                        helo_hostname, addresses, evidence, requested_by, requested_by_name, requested_by_owner, approval_reasons)
SELECT gen_random_uuid(), $1::uuid, $2::uuid,
       (CASE WHEN i % 2 = 0 THEN 'pair' ELSE 'ip' END)::exception_scope,
       'active', 'benchmark', now() - interval '1 day', now() + interval '90 days' + i * interval '1 second',
       'mx' || i || '.customer' || (i % 5000) || '.example',
       ARRAY[CASE WHEN i % 10 = 9
             THEN '2001:db8:' || to_hex(i >> 16) || ':' || to_hex(i & 65535) || '::/64'
             ELSE host('10.0.0.0'::inet + i) || '/32' END],
       '{}'::jsonb, gen_random_uuid(), 'bench', 'bench@example.test', ARRAY[]::text[]
FROM generate_series($3::int, $4::int - 1) AS i`;

/**
 * A new feed version that names no exception: what a bulk load behind the
 * application's back looks like. Processes find no change log for it and read
 * the whole list (NOTIFY optional).
 */
export async function bumpFeedVersion(client, notify = true) {
  const { rows } = await client.query(
    'UPDATE feed_state SET version = version + 1, changed_at = clock_timestamp() WHERE id = 1 RETURNING version, changed_at',
  );
  const version = rows[0].version;
  await client.query('INSERT INTO feed_versions (version, changed_at) VALUES ($1, $2)', [version, rows[0].changed_at]);
  if (notify) {
    await client.query('SELECT pg_notify($1, $2)', ['helopass_feed', String(version)]);
  }
  return BigInt(version);
}

/** Prisma's raw tagged templates ($queryRaw, $executeRaw) over a pg client inside a transaction. */
export function pgTransaction(client) {
  const toSql = (strings, values) => ({ text: strings.reduce((sql, part, i) => `${sql}$${i}${part}`), values });
  return {
    $queryRaw: async (strings, ...values) => (await client.query(toSql(strings, values))).rows,
    $executeRaw: async (strings, ...values) => (await client.query(toSql(strings, values))).rowCount,
  };
}

/**
 * Records a change of the allowlist exactly as the application does, with the
 * application's own code (FeedChangeLog.record() from dist/): new version,
 * change log, NOTIFY with the change. Call inside BEGIN … COMMIT.
 */
export async function recordFeedChange(client, exceptionIds) {
  await import('reflect-metadata');
  const { FeedChangeLog } = await importDist('libs/enforcement/src/index.js');
  return BigInt(await new FeedChangeLog(undefined).record(pgTransaction(client), exceptionIds));
}

/**
 * Inserts active exceptions number `from` .. `to - 1` straight into the
 * tables the feed reads (one organization, one mail server), in batches,
 * then moves the feed version once (with NOTIFY, like any change).
 */
export async function seedExceptions(url, from, to) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO organizations (id, name, updated_at) VALUES ($1, 'Bench customer', now()) ON CONFLICT (id) DO NOTHING`,
      [BENCH_ORG_ID],
    );
    await client.query(
      `INSERT INTO mail_servers (id, organization_id, helo_hostname, updated_at)
       VALUES ($1, $2, 'mx.bench.example', now()) ON CONFLICT (id) DO NOTHING`,
      [BENCH_SERVER_ID, BENCH_ORG_ID],
    );
    const batch = 200_000;
    for (let start = from; start < to; start += batch) {
      await client.query(SEED_SQL, [BENCH_ORG_ID, BENCH_SERVER_ID, start, Math.min(start + batch, to)]);
    }
    await client.query('ANALYZE exceptions');
    await client.query('BEGIN');
    const version = await bumpFeedVersion(client);
    await client.query('COMMIT');
    return version;
  } finally {
    await client.end();
  }
}

/** The same list as seedExceptions() would give, built in memory (AllowlistEntry objects). */
export function benchEntries(count) {
  const now = Date.now();
  const entries = new Array(count);
  for (let i = 0; i < count; i += 1) {
    entries[i] = {
      exceptionId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      organizationId: BENCH_ORG_ID,
      scope: i % 2 === 0 ? 'pair' : 'ip',
      heloHostname: `mx${i}.customer${i % 5000}.example`,
      addresses: [benchAddress(i)],
      startsAt: new Date(now - 86_400_000),
      expiresAt: new Date(now + 90 * 86_400_000 + i * 1000),
    };
  }
  return entries;
}

// ---------------------------------------------------------------------------
// Child processes

/**
 * Starts `node <script>` (this same Node binary) with an IPC channel; stdout
 * goes to /dev/null unless asked (the API logs there as in production).
 * `next(type)` waits for the next message of that type.
 */
export function startChild(script, { args = [], env = {}, nodeArgs = [], stdout = 'ignore', label = script } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, join(BENCH_DIR, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
  });
  const queue = [];
  const waiters = [];
  let exited = null;
  child.on('message', (message) => {
    const index = waiters.findIndex((w) => w.type === message.type || message.type === 'error');
    if (index >= 0) {
      const [waiter] = waiters.splice(index, 1);
      if (message.type === 'error') {
        waiter.reject(new Error(`${label}: ${message.message}`));
      } else {
        waiter.resolve(message);
      }
    } else {
      queue.push(message);
    }
  });
  const exitedPromise = new Promise((resolveExit) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      for (const waiter of waiters.splice(0)) {
        waiter.reject(new Error(`${label} exited (code ${code}, signal ${signal}) before sending "${waiter.type}"`));
      }
      resolveExit(exited);
    });
  });
  const stop = async (graceMs = 15_000) => {
    if (exited) {
      return exited;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const result = await exitedPromise;
    clearTimeout(timer);
    return result;
  };
  onCleanup(() => stop());
  return {
    pid: child.pid,
    send: (message) => child.send(message),
    next(type, timeoutMs = 600_000) {
      const index = queue.findIndex((m) => m.type === type || m.type === 'error');
      if (index >= 0) {
        const [message] = queue.splice(index, 1);
        return message.type === 'error'
          ? Promise.reject(new Error(`${label}: ${message.message}`))
          : Promise.resolve(message);
      }
      if (exited) {
        return Promise.reject(new Error(`${label} has exited (code ${exited.code}, signal ${exited.signal})`));
      }
      return new Promise((resolveMessage, reject) => {
        const waiter = {
          type,
          resolve: (m) => {
            clearTimeout(timer);
            resolveMessage(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${label}: no "${type}" within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    stop,
  };
}

/**
 * In a child: { type: 'profile-start' } / { type: 'profile-stop', file } from
 * the parent record a CPU profile of just that window (no start-up in it),
 * answered by { type: 'profiling' } and { type: 'profiled', file }.
 */
export function installProfilerHooks() {
  let session;
  process.on('message', (message) => {
    void (async () => {
      if (message?.type === 'profile-start') {
        const { Session } = await import('node:inspector/promises');
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 1000 }); // µs, V8's default
        await session.post('Profiler.start');
        process.send({ type: 'profiling' });
      } else if (message?.type === 'profile-stop' && session) {
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        session = undefined;
        writeFileSync(message.file, JSON.stringify(profile));
        process.send({ type: 'profiled', file: message.file });
      }
    })().catch((error) => process.send({ type: 'error', message: String(error) }));
  });
}

/** In a child: reports to the parent and turns failures into an "error" message. */
export function childMain(main) {
  const stopHandlers = [];
  const stopAll = async () => {
    for (const handler of stopHandlers.splice(0).reverse()) {
      await handler().catch(() => undefined);
    }
    await cleanup(); // anything this child registered itself (normally nothing)
    process.exit(process.exitCode ?? 0); // a normal exit: --cpu-prof writes its profile
  };
  process.once('SIGTERM', () => void stopAll());
  process.once('SIGINT', () => void stopAll());
  process.on('message', (message) => {
    if (message?.type === 'stop') {
      void stopAll();
    }
  });
  process.on('disconnect', () => void stopAll()); // the parent is gone
  main({ onStop: (handler) => stopHandlers.push(handler) }).catch((error) => {
    process.send?.({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exitCode = 1;
    void stopAll();
  });
}

// ---------------------------------------------------------------------------
// Figures

export const mib = (bytes) => bytes / 1024 / 1024;
export const fmtMs = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
export const fmtMiB = (bytes) => `${mib(bytes).toFixed(0)} MiB`;

export function percentile(sorted, p) {
  if (sorted.length === 0) {
    return NaN;
  }
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** A plain-text table with aligned columns. */
export function table(head, rows) {
  const widths = head.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Reads `--name=value` / `--flag` arguments. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (const arg of argv) {
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/i.exec(arg);
    if (!match) {
      throw new Error(`unknown argument ${arg}`);
    }
    out[match[1]] = match[2] ?? true;
  }
  return out;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] and [12] are utime and stime (fields 14 and 15 of proc(5)), in clock ticks
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Resident set size of a process now, in bytes, from /proc (Linux). */
export function processRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** A request as Postfix 3.x sends it at the HELO stage, without its final empty line. */
export function postfixPolicyRequest(helo, address, n) {
  return [
    'request=smtpd_access_policy',
    'protocol_state=EHLO',
    'protocol_name=ESMTP',
    `helo_name=${helo}`,
    'queue_id=',
    'sender=',
    'recipient=',
    'recipient_count=0',
    `client_address=${address}`,
    'client_name=unknown',
    'reverse_client_name=unknown',
    `instance=${n.toString(16)}.6751a6b2.9f3c0.0`,
    'sasl_method=',
    'sasl_username=',
    'ccert_subject=',
    'ccert_fingerprint=',
    'size=0',
    'server_address=127.0.0.1',
    'server_port=25',
  ].join('\n');
}

/**
 * In a bench child: the HeloPass API as `npm start` builds it (createApp from
 * dist/), on DATABASE_URL and the rest of the environment, without a worker,
 * with rate limits that one key's thousands of requests do not meet (the
 * limiter still counts each request). Stopped with the child; not listening yet.
 */
export async function createBenchApi(onStop) {
  const { loadConfig } = await importDist('libs/config/src/index.js');
  const { createApp } = await importDist('apps/api/src/bootstrap.js');
  const config = loadConfig({
    RATE_LIMIT_FEED_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_MINUTE: '1000000',
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    RUN_WORKER: 'false',
  });
  const app = await createApp(config);
  onStop(() => app.close());
  return app;
}
