#!/usr/bin/env node
// The real HeloPass policy server (dist/apps/policy/src/main.js) for
// scripts/mailhost/verify.sh, on an embedded PostgreSQL of its own holding one
// `pair` exception: (--helo, --address). Runs until SIGTERM, then stops the
// policy server and the database and deletes the data.
//
//   node scripts/mailhost/policy-server.mjs --port 10040 --helo exch01.corp.example --address 127.0.0.1
//
// Prints `ready` once the policy server answers; on SIGUSR1 revokes the
// exception (one transaction: status revoked, feed version + 1, NOTIFY — what
// POST /v1/exceptions/:id/revoke commits) and prints `revoked` once committed.
// The grant is written the same way (SQL, no API: the verify script runs no
// API and no DNS); the policy server hears of both only through PostgreSQL.
// Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
};
const port = Number(arg('port', '10040'));
const helo = arg('helo', 'exch01.corp.example');
const address = arg('address', '127.0.0.1');

const { applyMigrations, startEmbeddedDatabase } = await import(pathToFileURL(join(ROOT, 'dist/libs/database/src/index.js')).href);

const freePort = () =>
  new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => done(free));
    });
  });

const dataDir = mkdtempSync(join(tmpdir(), 'helopass-mailhost-policy-'));
const database = await startEmbeddedDatabase({ dataDir, port: await freePort(), database: 'helopass', persistent: false });
let policy;
const stop = async () => {
  if (policy && policy.exitCode === null) {
    const exited = new Promise((done) => policy.once('exit', done));
    policy.kill('SIGTERM');
    await exited;
  }
  await database.stop();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());

const bump = async (client) => {
  const { rows } = await client.query('UPDATE feed_state SET version = version + 1, changed_at = clock_timestamp() WHERE id = 1 RETURNING version');
  await client.query('INSERT INTO feed_versions (version, changed_at) VALUES ($1, clock_timestamp())', [rows[0].version]);
  await client.query('SELECT pg_notify($1, $2)', ['helopass_feed', String(rows[0].version)]);
};

try {
  await applyMigrations(database.connectionString);
  const client = new pg.Client({ connectionString: database.connectionString });
  await client.connect();
  await client.query('BEGIN');
  const org = (await client.query(`INSERT INTO organizations (id, name, updated_at) VALUES (gen_random_uuid(), 'Mail host check', now()) RETURNING id`)).rows[0].id;
  const server = (
    await client.query(`INSERT INTO mail_servers (id, organization_id, helo_hostname, updated_at) VALUES (gen_random_uuid(), $1, $2, now()) RETURNING id`, [org, helo])
  ).rows[0].id;
  const cidr = address.includes(':') ? `${address}/128` : `${address}/32`;
  const exception = (
    await client.query(
      `INSERT INTO exceptions (id, organization_id, mail_server_id, scope, status, reason, starts_at, expires_at,
                               helo_hostname, addresses, evidence, requested_by, requested_by_name, requested_by_owner, approval_reasons)
       VALUES (gen_random_uuid(), $1, $2, 'pair', 'active', 'mail host check', now() - interval '1 minute', now() + interval '1 day',
               $3, ARRAY[$4], '{}'::jsonb, gen_random_uuid(), 'verify', 'verify', ARRAY[]::text[]) RETURNING id`,
      [org, server, helo, cidr],
    )
  ).rows[0].id;
  await bump(client);
  await client.query('COMMIT');

  policy = spawn(process.execPath, [join(ROOT, 'dist/apps/policy/src/main.js')], {
    env: { ...process.env, DATABASE_URL: database.connectionString, POLICY_HOST: '127.0.0.1', POLICY_PORT: String(port), MIGRATE_ON_START: 'false', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  policy.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (String(chunk).includes('Postfix policy service on inet:')) {
      console.log('ready');
    }
  });
  policy.once('exit', (code) => {
    console.log(`policy server exited (${code})`);
  });
  process.on('SIGUSR1', () => {
    void (async () => {
      await client.query('BEGIN');
      await client.query(
        `UPDATE exceptions SET status = 'revoked', revoked_at = now(), revoked_by = gen_random_uuid(), revoke_reason = 'verify', version = version + 1 WHERE id = $1`,
        [exception],
      );
      await bump(client);
      await client.query('COMMIT');
      console.log('revoked');
    })().catch((error) => console.log(`revoke failed: ${error.message}`));
  });
} catch (error) {
  console.log(`failed: ${error instanceof Error ? error.message : error}`);
  await stop();
}
