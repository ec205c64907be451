import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectionAs } from '@app/database';
import { createScratchDatabase, dropDatabase, type RuntimeRole } from './support/databases.js';
import { bearer, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

const CLI = 'dist/apps/cli/src/main.js';

/** The major version of the pg_dump on the PATH, or undefined without one. */
function pgDumpMajor(): number | undefined {
  try {
    const match = /(\d+)(?:\.\d+)?/.exec(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function serverMajor(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    return Math.floor(Number(rows[0]!.server_version_num) / 10_000);
  } finally {
    await client.end();
  }
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

// pg_dump refuses a server newer than itself: the drill runs where the tools match the server (CI's PostgreSQL 15 run).
const dumpMajor = pgDumpMajor();
const serverVersion = await serverMajor(inject('adminUrl'));
const tools = dumpMajor !== undefined && dumpMajor >= serverVersion;

/**
 * The README's restore drill (Operations, "Backups and the restore drill"),
 * step by step with the real tools: pg_dump as the owner, pg_restore into an
 * empty database, `db migrate` for the services' grants, then `audit verify`
 * against the checkpoints kept outside the database.
 */
describe.skipIf(!tools)('restore drill: a backup restored and checked against the off-database checkpoints', () => {
  let t: TestApp & { databaseUrl: string; ownerUrl: string };
  let dir: string;
  let restoredOwnerUrl: string | undefined;
  const checkpoints = () => join(dir, 'audit-checkpoints.ndjson');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helopass-restore-'));
    t = await startIsolatedTestApp({ AUDIT_CHECKPOINT_FILE: join(dir, 'audit-checkpoints.ndjson') });
  });
  afterAll(async () => {
    if (restoredOwnerUrl !== undefined) {
      await dropDatabase(inject('adminUrl'), restoredOwnerUrl);
    }
    await t?.close();
    if (dir) {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const organization = async () => t.http.post('/v1/organizations').set(bearer(t.keys.admin)).send({ name: unique('Restore Drill') }).expect(201);
  const checkpoint = async () => t.http.post('/v1/audit-events/checkpoints').set(bearer(t.keys.admin)).send({}).expect(201);

  it('verifies against the last checkpoint before the backup, names a newer one as a restored older backup, and a rewritten event as such', async () => {
    await organization();
    await checkpoint();
    const backedUpAt = new Date().toISOString();
    const dump = join(dir, 'helopass.dump');
    expect(await run('pg_dump', ['--format=custom', `--file=${dump}`, t.ownerUrl])).toMatchObject({ code: 0 });
    // Production carries on after the backup: more events, a newer checkpoint.
    await organization();
    await checkpoint();
    const lines = (await readFile(checkpoints(), 'utf8')).trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const publicKey = (JSON.parse(lines.at(-1)!) as { publicKey: string }).publicKey;

    // 1. restore into an empty database; 2. the services' grants again.
    restoredOwnerUrl = await createScratchDatabase(inject('adminUrl'), 'restore');
    expect(await run('pg_restore', ['--no-owner', '--no-privileges', `--dbname=${restoredOwnerUrl}`, dump])).toMatchObject({ code: 0 });
    const runtime = JSON.parse(inject('runtimeRole')) as RuntimeRole;
    const restoredUrl = connectionAs(restoredOwnerUrl, runtime.role, runtime.password);
    const migrated = await run(process.execPath, [CLI, 'db', 'migrate'], { MIGRATION_DATABASE_URL: restoredOwnerUrl, DATABASE_URL: restoredUrl, LOG_LEVEL: 'warn' });
    expect(migrated).toMatchObject({ code: 0, output: expect.stringContaining('database is up to date') });

    // 3. against the checkpoints kept outside the database.
    const verify = async (line: string) => {
      const file = join(dir, 'checkpoint.json');
      await writeFile(file, `${line}\n`);
      return run(process.execPath, [CLI, 'audit', 'verify', '--checkpoint', file, '--public-key', publicKey], { DATABASE_URL: restoredUrl, LOG_LEVEL: 'warn' });
    };
    const newest = await verify(lines.at(-1)!);
    expect(newest.code).toBe(3);
    expect(newest.output).toContain('NOT VERIFIED (restored_older_backup)');
    const beforeBackup = lines.filter((line) => (JSON.parse(line) as { at: string }).at < backedUpAt).at(-1)!;
    const consistent = await verify(beforeBackup);
    expect(consistent).toMatchObject({ code: 0, output: expect.stringContaining('verified (consistent)') });
    // The services' role reads the restored trail (the grants came back with `db migrate`).
    expect(consistent.output).not.toContain('permission denied');

    // A backup altered after the fact is told apart from an old one.
    const owner = new pg.Client({ connectionString: restoredOwnerUrl });
    await owner.connect();
    try {
      // Only a superuser gets past the append-only trigger: exactly what the checkpoint guards against.
      await owner.query("SET session_replication_role = replica");
      await owner.query("UPDATE audit_events SET action = 'organization.deleted' WHERE seq = (SELECT min(seq) FROM audit_events)");
    } finally {
      await owner.end();
    }
    const rewritten = await verify(beforeBackup);
    expect(rewritten.code).toBe(3);
    expect(rewritten.output).toContain('NOT VERIFIED (event_rewritten)');
  }, 120_000);
});
