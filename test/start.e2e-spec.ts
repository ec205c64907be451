import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { PolicyConnection } from './support/policy-client.js';
import { ProcessOutput } from './support/process-output.js';
import { freePort } from './support/free-port.js';

const MAIN = 'dist/apps/api/src/main.js';
const WORKER_MAIN = 'dist/apps/worker/src/main.js';

interface Started {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the service has printed what `holds` looks for. */
  waitFor: ProcessOutput['waitFor'];
  exited: Promise<number | null>;
}

/** The one-time admin key, where the README says to find it when start-up prints JSON lines (not a terminal). */
const KEY_LINE = /^\[helopass\]\s+(hp_[A-Za-z0-9_-]+)$/m;

/**
 * Runs what `npm start` runs, as a terminal runs a command: in a process
 * group of its own, which a Ctrl-C signals as a whole (see stop). Waits
 * until it says where the API is, or until `ready` holds.
 */
async function start(env: Record<string, string>, ready?: (text: string) => boolean): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], {
    // POLICY_PORT 0: the policy server takes a free port (it says which), so that runs never collide.
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn', POLICY_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output = new ProcessOutput(child);
  try {
    await output.waitFor(
      ready ?? ((text) => text.includes('API on ') && (env.RUN_WORKER === 'false' || text.includes('worker running as process'))),
      'the service said it started',
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, output: () => output.text, waitFor: output.waitFor.bind(output), exited: output.exited };
}

/** The pids the service reported for its worker processes, in order. */
function workerPids(output: string): number[] {
  return [...output.matchAll(/^\[helopass\] worker running as process (\d+) /gm)].map((match) => Number(match[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C at the terminal: SIGINT to the whole process group (PostgreSQL, when in it, gets one too). */
async function stop(started: Started): Promise<number | null> {
  process.kill(-started.child.pid!, 'SIGINT');
  return started.exited;
}

/** What went wrong while stopping: log lines at error level or above (JSON or readable), errors, stack traces. */
function troubleWhileStopping(output: string): string[] {
  const shutdown = output.slice(output.indexOf('SIGINT: stopping'));
  return shutdown.split('\n').filter((line) => {
    if (line.startsWith('{')) {
      return (JSON.parse(line) as { level: number }).level >= 50;
    }
    return /\b(ERROR|FATAL)\b|Error\b|^\s+at /.test(line);
  }).map((line) => line.slice(0, 300));
}

/** Runs a process that is expected to stop by itself; answers its exit code and everything it printed. */
async function runToExit(main: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

async function countRows(databaseUrl: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<{ n: number }>(sql)).rows[0]!.n;
  } finally {
    await client.end();
  }
}

async function accepts(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch (error) {
    // Refused means nothing listens; a password error would mean the server is still up.
    return !String((error as Error).message).includes('ECONNREFUSED');
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'helopass-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on an embedded PostgreSQL with nothing set up, prints a first admin key once, and stops it all on Ctrl-C', async () => {
    const [port, pgPort] = [await freePort(), await freePort()];
    const env = { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(pgPort) };
    const first = await start(env, (text) => /^\[helopass\] it is stored only as a hash/m.test(text));
    let organizationId: string;
    try {
      const output = first.output();
      expect(output).toContain(`API on http://127.0.0.1:${port}/v1`);
      expect(output).toContain(`docs on http://127.0.0.1:${port}/docs`);
      // The worker is a process of its own, reporting ready over its IPC channel.
      const [workerPid] = workerPids(output);
      expect(workerPid).toBeDefined();
      expect(workerPid).not.toBe(first.child.pid);
      expect(alive(workerPid!)).toBe(true);
      expect(output).toContain(`[helopass-worker] running as process ${workerPid}`);
      // So is the Postfix policy server, which answers on the port it names.
      const policyLine = /^\[helopass\] policy server running as process (\d+) \(Postfix policy service on inet:127\.0\.0\.1:(\d+)\)$/m.exec(output);
      expect(policyLine, output).not.toBeNull();
      const policyPid = Number(policyLine![1]);
      expect(alive(policyPid)).toBe(true);
      const policy = await PolicyConnection.open(Number(policyLine![2]));
      expect(await policy.ask('mail.example.net', '192.0.2.1')).toBe('DUNNO');
      policy.close();
      const key = KEY_LINE.exec(output)?.[1];
      expect(key).toBeDefined();
      // Without a terminal (JSON lines), the key still comes last: after the worker and "API on".
      const lines = output.trimEnd().split('\n');
      expect(lines.slice(-4)).toEqual([
        expect.stringMatching(/^\[helopass\] API on /),
        expect.stringMatching(/^\[helopass\] no API key existed; created an admin key \(owner bootstrap-admin\)\. It is shown only this once/),
        `[helopass]   ${key}`,
        '[helopass] it is stored only as a hash and will not be shown again',
      ]);
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      expect((await fetch(`${base}/docs/json`)).status).toBe(200);
      const created = await fetch(`${base}/v1/organizations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Kept between runs' }),
      });
      expect(created.status).toBe(201);
      organizationId = ((await created.json()) as { id: string }).id;

      // The README's first hour: a second admin and a filter key, minted through the API while it runs.
      const mint = async (body: Record<string, string>) => {
        const response = await fetch(`${base}/v1/api-keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.status).toBe(201);
        return ((await response.json()) as { key: string }).key;
      };
      const jane = await mint({ name: 'jane', role: 'admin', owner: 'jane@example.com' });
      const filter = await mint({ name: 'postfix mx1', role: 'filter', owner: 'mx1.example.net' });
      const listed = await fetch(`${base}/v1/api-keys`, { headers: { authorization: `Bearer ${jane}` } });
      expect(listed.status).toBe(200);
      expect(((await listed.json()) as { items: { owner: string }[] }).items.map((item) => item.owner).sort()).toEqual([
        'bootstrap-admin',
        'jane@example.com',
        'mx1.example.net',
      ]);
      expect((await fetch(`${base}/v1/allowlist`, { headers: { authorization: `Bearer ${filter}` } })).status).toBe(200);

      // A worker that dies is reported and started again; the API keeps answering meanwhile.
      process.kill(workerPid!, 'SIGKILL');
      await first.waitFor((text) => workerPids(text).length === 2, 'the worker was restarted');
      expect(first.output()).toContain(`[helopass] worker (process ${workerPid}) exited unexpectedly (signal SIGKILL); restarting in 1 s`);
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    } finally {
      expect(await stop(first)).toBe(0);
    }
    // Ctrl-C stops the worker, then the API, then the embedded PostgreSQL.
    const stopped = first.output();
    const restarted = workerPids(stopped)[1]!;
    const order = [
      '[helopass] SIGINT: stopping',
      '[helopass] policy server stopped (process',
      `[helopass] worker stopped (process ${restarted})`,
      '[helopass] API stopped',
      '[helopass] embedded PostgreSQL stopped',
    ];
    const positions = order.map((line) => stopped.indexOf(line));
    expect(positions.every((position) => position >= 0), stopped).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(stopped).toContain(`[helopass-worker] SIGTERM: stopping`);
    // Though PostgreSQL would take the terminal's SIGINT as "cut every connection now", nothing stops in error.
    expect(troubleWhileStopping(stopped)).toEqual([]);
    expect(alive(restarted)).toBe(false);
    expect(await accepts(pgPort)).toBe(false);

    // Again on the same data: nothing new printed, the data is still there.
    const second = await start(env);
    try {
      expect(second.output()).not.toMatch(/hp_[A-Za-z0-9_-]{40,}/);
      expect(second.output()).not.toContain('applied migrations');
      const key = KEY_LINE.exec(first.output())![1];
      const fetched = await fetch(`http://127.0.0.1:${port}/v1/organizations/${organizationId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(fetched.status).toBe(200);
    } finally {
      expect(await stop(second)).toBe(0);
    }
    // Two starts of PostgreSQL, the API and the worker, and a worker restart: more than the default timeout on a busy machine.
  }, 120_000);

  it('on a terminal (LOG_FORMAT=pretty) prints readable lines, the first admin key last in a box of its own, and stops on Ctrl-C without an error', async () => {
    const freshDir = mkdtempSync(join(tmpdir(), 'helopass-start-pretty-'));
    const [port, pgPort] = [await freePort(), await freePort()];
    try {
      const box = /\n\n {2}┌─+┐\n(?: {2}│ .* │\n)+ {2}└─+┘\n\n$/;
      const started = await start(
        { DATA_DIR: freshDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(pgPort), LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' },
        (text) => box.test(text),
      );
      let key: string | undefined;
      try {
        // The box, set apart by blank lines, is the last thing printed: after the worker and "API on".
        const output = started.output();
        const [before, boxed] = [output.slice(0, output.lastIndexOf('\n\n  ┌')), output.slice(output.lastIndexOf('\n\n  ┌'))];
        expect(before.split('\n').at(-1)).toMatch(new RegExp(`^\\[helopass\\] API on http://127\\.0\\.0\\.1:${port}/v1`));
        expect(before).toMatch(/^\[helopass\] worker running as process \d+ /m);
        key = /│ {3}(hp_[A-Za-z0-9_-]{40,}) +│/.exec(boxed)?.[1];
        expect(key).toBeDefined();
        expect(boxed).toContain('will not be shown again');
        // Readable lines only: no JSON, and not Nest's seventy lines of modules and routes.
        const lines = before.split('\n').filter((line) => line !== '');
        expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
        expect(before).not.toMatch(/dependencies initialized|Mapped \{/);
        expect(before).toMatch(/^\[\d\d:\d\d:\d\d\] WARN \(helopass\): no DNS blocklist is configured/m);
        expect(before).toMatch(/^\[\d\d:\d\d:\d\d\] INFO \(helopass-worker\): worker started$/m);
        expect(lines.length).toBeLessThan(15);

        // The key works, and a request reads as one line.
        const keys = await fetch(`http://127.0.0.1:${port}/v1/api-keys`, { headers: { authorization: `Bearer ${key}` } });
        expect(keys.status).toBe(200);
        await started.waitFor((text) => text.includes('GET /v1/api-keys → 200 in '), 'the request was logged');
        expect(started.output()).toMatch(/^\[\d\d:\d\d:\d\d\] INFO \(helopass\): request completed: GET \/v1\/api-keys → 200 in \d+ ms$/m);
      } finally {
        expect(await stop(started)).toBe(0);
      }
      const stopped = started.output();
      expect(stopped).toContain('[helopass] embedded PostgreSQL stopped');
      expect(troubleWhileStopping(stopped)).toEqual([]);
      expect(stopped.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
      expect(await accepts(pgPort)).toBe(false);
    } finally {
      rmSync(freshDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('after being killed outright (SIGKILL), starts again: the embedded PostgreSQL it left running is stopped first', async () => {
    const killedDir = mkdtempSync(join(tmpdir(), 'helopass-killed-'));
    try {
      const [port, pgPort] = [await freePort(), await freePort()];
      const env = { DATA_DIR: killedDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(pgPort), RUN_WORKER: 'false' };
      const killed = await start(env);
      killed.child.kill('SIGKILL'); // the main process only: PostgreSQL, in a group of its own, stays
      await killed.exited;
      expect(await accepts(pgPort)).toBe(true);

      const again = await start(env);
      try {
        expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
      } finally {
        expect(await stop(again)).toBe(0);
      }
      expect(troubleWhileStopping(again.output())).toEqual([]);
      expect(await accepts(pgPort)).toBe(false);
    } finally {
      rmSync(killedDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('with DATABASE_URL and BOOTSTRAP_ADMIN_KEY, registers that key as admin', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'bootstrap');
    const port = await freePort();
    const bootstrapKey = `operator_${'k'.repeat(30)}`;
    try {
      const started = await start({
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        BOOTSTRAP_ADMIN_KEY: bootstrapKey,
        BOOTSTRAP_ADMIN_OWNER: 'Ops.Lead@Example.com',
      });
      try {
        expect(started.output()).toContain('BOOTSTRAP_ADMIN_KEY registered');
        expect(started.output()).not.toContain(bootstrapKey);
        const keys = await fetch(`http://127.0.0.1:${port}/v1/api-keys`, { headers: { authorization: `Bearer ${bootstrapKey}` } });
        expect(keys.status).toBe(200);
        const body = (await keys.json()) as { items: { role: string; owner: string }[] };
        // The person behind it, as BOOTSTRAP_ADMIN_OWNER names them (normalized).
        expect(body.items.map((item) => [item.role, item.owner])).toEqual([['admin', 'ops.lead@example.com']]);
      } finally {
        expect(await stop(started)).toBe(0);
      }
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });

  it('with NODE_ENV=production, the API and the worker refuse to start without FEED_SIGNING_KEY, and touch nothing', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'production');
    try {
      for (const main of [MAIN, WORKER_MAIN]) {
        const { code, output } = await runToExit(main, {
          NODE_ENV: 'production',
          DATABASE_URL: databaseUrl,
          FEED_SIGNING_KEY: '',
          FEED_SIGNING_KEY_IN_DATABASE: '',
          BOOTSTRAP_ADMIN_KEY: '',
        });
        expect(code).toBe(1);
        expect(output).toContain('cannot start: FEED_SIGNING_KEY must be set when NODE_ENV=production');
        expect(output).toContain('FEED_SIGNING_KEY_IN_DATABASE=true');
        expect(output).not.toContain('hp_');
      }
      // Not even migrated: the database is as empty as it was.
      expect(await countRows(databaseUrl, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`)).toBe(0);
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });

  it('with NODE_ENV=production and no key at all, starts without generating one and says how to create the first admin key', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'production');
    const port = await freePort();
    try {
      const started = await start({
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        RUN_WORKER: 'false',
        FEED_SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
        WEBHOOK_SECRET_KEY: Buffer.alloc(32, 10).toString('base64'),
        AUDIT_SIGNING_KEY: Buffer.alloc(32, 11).toString('base64'),
        BOOTSTRAP_ADMIN_KEY: '',
      });
      try {
        const output = started.output();
        expect(output).toContain('no API key exists yet');
        expect(output).toContain('api-keys create --role admin');
        expect(output).not.toMatch(/hp_[A-Za-z0-9_-]{40,}/);
        expect(await countRows(databaseUrl, 'SELECT count(*)::int AS n FROM api_keys')).toBe(0);
        // The feed is signed with FEED_SIGNING_KEY: no key was generated into the database.
        expect(await countRows(databaseUrl, 'SELECT count(*)::int AS n FROM feed_signing_key')).toBe(0);
        expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${port}/v1/api-keys`)).status).toBe(401);
      } finally {
        expect(await stop(started)).toBe(0);
      }
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });

  it('refuses to start on a bad setting, naming the variable and not echoing secrets', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, PORT: 'eighty', BOOTSTRAP_ADMIN_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('PORT must be a whole number');

    const secret = 'short secret with spaces';
    const second = spawn(process.execPath, [MAIN], { env: { ...process.env, BOOTSTRAP_ADMIN_KEY: secret }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    second.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    expect(await new Promise((resolve) => second.on('exit', resolve))).toBe(1);
    expect(text).toContain('BOOTSTRAP_ADMIN_KEY');
    expect(text).not.toContain(secret);
  });
});
