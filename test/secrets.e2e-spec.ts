import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiKeysService } from '@app/access';
import { loadConfig } from '@app/config';
import { applyMigrations } from '@app/database';
import { hashApiKeySecret } from '@app/domain';
import { createApp } from '../apps/api/src/bootstrap.js';
import { startWorker, type RunningWorker } from '@app/worker';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { LogCapture, unique } from './support/test-app.js';

const run = promisify(execFile);
const CLI = 'dist/apps/cli/src/main.js';

/** Every row of every table in every schema (pgboss included), one line of text per row. */
async function dumpDatabase(databaseUrl: string): Promise<{ tables: string[]; text: string }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
       ORDER BY 1, 2`,
    );
    const lines: string[] = [];
    for (const table of tables) {
      const qualified = `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
      const { rows } = await client.query<{ row: string }>(`SELECT t::text AS row FROM ${qualified} t`);
      lines.push(...rows.map((row) => `${table.schema}.${table.name}: ${row.row}`));
    }
    return { tables: tables.map((table) => `${table.schema}.${table.name}`), text: lines.join('\n') };
  } finally {
    await client.end();
  }
}

describe('a secret is stored nowhere but as its hash', () => {
  const adminUrl = inject('adminUrl');
  let databaseUrl: string;
  let app: NestFastifyApplication;
  let worker: RunningWorker | undefined;
  const apiLog = new LogCapture();
  const workerLog = new LogCapture();

  beforeAll(async () => {
    databaseUrl = await createScratchDatabase(adminUrl, 'secrets');
    await applyMigrations(databaseUrl);
    // The chattiest level: whatever any layer logs is searched below.
    const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'trace' });
    app = await createApp(config, { logStream: apiLog });
    worker = await startWorker(config, { logStream: workerLog, pollingIntervalSeconds: 0.5 });
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await dropDatabase(adminUrl, databaseUrl);
  });

  it('after keys are minted every way (start-up, API with and without Idempotency-Key, replay, CLI), no row and no log line holds one', async () => {
    const http = request(app.getHttpServer());
    const apiKeys = app.get(ApiKeysService);
    const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
    const secrets: string[] = [];

    // The first start on an empty database mints an admin key (development).
    const generated = await apiKeys.ensureBootstrapAdmin(undefined);
    expect(generated.registered).toBe('generated');
    const firstAdmin = generated.secret!;
    secrets.push(firstAdmin);

    // Through the API, without and with Idempotency-Key, then the replay.
    const plain = await http.post('/v1/api-keys').set(bearer(firstAdmin)).send({ name: unique('plain'), role: 'csr', owner: 'plain@example.com' }).expect(201);
    secrets.push(plain.body.key);
    const idempotencyKey = randomUUID();
    const body = { name: unique('idem'), role: 'filter' };
    const once = await http.post('/v1/api-keys').set(bearer(firstAdmin)).set('idempotency-key', idempotencyKey).send(body).expect(201);
    secrets.push(once.body.key);
    const replay = await http.post('/v1/api-keys').set(bearer(firstAdmin)).set('idempotency-key', idempotencyKey).send(body).expect(201);
    expect(replay.body).toMatchObject({ id: once.body.id, key: null, secretShownOnce: true });
    // A secret sent where none belongs is refused without being echoed or kept.
    const refused = await http
      .post('/v1/api-keys')
      .set(bearer(firstAdmin))
      .set('idempotency-key', randomUUID())
      .send({ name: unique('echo'), role: 'csr', owner: 'echo@example.com', key: plain.body.key })
      .expect(400);
    expect(JSON.stringify(refused.body)).not.toContain(plain.body.key);

    // The first admin key is retired; BOOTSTRAP_ADMIN_KEY then registers on the next start.
    const firstAdminId = (await apiKeys.list(200)).items.find((key) => key.name === 'bootstrap admin')!.id;
    await http.delete(`/v1/api-keys/${firstAdminId}`).set(bearer(firstAdmin)).expect(200);
    const given = `operator_${randomUUID().replaceAll('-', '')}`;
    expect((await apiKeys.ensureBootstrapAdmin(given)).registered).toBe('given');
    secrets.push(given);

    // Through the command line, a process of its own.
    const cli = await run(process.execPath, [CLI, 'api-keys', 'create', '--name', unique('cli'), '--role', 'filter', '--json'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    const fromCli = (JSON.parse(cli.stdout) as { key: string }).key;
    secrets.push(fromCli);

    // Every key is used once, so authentication and request logging see each of them.
    await http.get('/v1/api-keys').set(bearer(given)).expect(200);
    await http.get('/v1/organizations').set(bearer(plain.body.key)).expect(200);
    await http.get('/v1/allowlist/postfix-cidr').set(bearer(once.body.key)).expect(200);
    await http.get('/v1/allowlist/postfix-cidr').set(bearer(fromCli)).expect(200);
    await http.get('/v1/api-keys').set(bearer(firstAdmin)).expect(401);
    // The worker runs its jobs on this database too (pg-boss keeps them in its own schema).
    await worker!.sweepNow();
    await worker!.purgeNow();
    const jobs = new pg.Client({ connectionString: databaseUrl });
    await jobs.connect();
    try {
      await expect
        .poll(async () => (await jobs.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE state = 'completed'`)).rows[0].n, {
          timeout: 15_000,
          interval: 250,
        })
        .toBeGreaterThanOrEqual(2);
    } finally {
      await jobs.end();
    }

    const dump = await dumpDatabase(databaseUrl);
    expect(dump.tables).toEqual(expect.arrayContaining(['public.api_keys', 'public.idempotency_records', 'public.audit_events']));
    expect(dump.tables.some((table) => table.startsWith('pgboss.'))).toBe(true);
    const logs = [apiLog.text, workerLog.text, cli.stderr].join('\n');
    expect(apiLog.text).toContain('"path":"/v1/api-keys"');
    expect(dump.text).toContain(idempotencyKey);

    expect(secrets).toHaveLength(5);
    for (const secret of secrets) {
      // Each key was minted in this database: its hash is there, the secret is not.
      expect(dump.text).toContain(hashApiKeySecret(secret));
      const body = secret.replace(/^hp_/, '');
      for (const [where, text] of [
        ['database', dump.text],
        ['logs', logs],
      ] as const) {
        expect(text.includes(secret), `${where} holds a secret`).toBe(false);
        expect(text.includes(body), `${where} holds a secret without its hp_ prefix`).toBe(false);
      }
    }
  }, 60_000);
});
