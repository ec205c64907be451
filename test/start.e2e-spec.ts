import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createScratchDatabase, dropDatabase } from './support/databases.js';

const MAIN = 'dist/apps/api/src/main.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs what `npm start` runs, and waits until it says where the API is. */
async function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('API on ') || (env.RUN_WORKER !== 'false' && !output.includes('worker running'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output, exited };
}

async function stop(started: Started): Promise<number | null> {
  started.child.kill('SIGINT');
  return started.exited;
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
    const first = await start(env);
    let organizationId: string;
    try {
      const output = first.output();
      expect(output).toContain(`API on http://127.0.0.1:${port}/v1`);
      expect(output).toContain(`docs on http://127.0.0.1:${port}/docs`);
      expect(output).toContain('worker running');
      const key = /^\[helopass\]\s+(hp_[A-Za-z0-9_-]+)$/m.exec(output)?.[1];
      expect(key).toBeDefined();
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
    } finally {
      expect(await stop(first)).toBe(0);
    }
    expect(first.output()).toContain('SIGINT: stopping');
    expect(await accepts(pgPort)).toBe(false);

    // Again on the same data: nothing new printed, the data is still there.
    const second = await start(env);
    try {
      expect(second.output()).not.toMatch(/hp_[A-Za-z0-9_-]{40,}/);
      expect(second.output()).not.toContain('applied migrations');
      const key = /^\[helopass\]\s+(hp_[A-Za-z0-9_-]+)$/m.exec(first.output())![1];
      const fetched = await fetch(`http://127.0.0.1:${port}/v1/organizations/${organizationId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(fetched.status).toBe(200);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });

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
