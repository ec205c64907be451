import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDatabase } from '@app/database';

const CLI = 'dist/apps/cli/src/main.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The exit statuses the README documents for `npm run cli`, through the real
 * process, on the embedded PostgreSQL (no DATABASE_URL): the database the CLI
 * starts and stops itself, as a newcomer's `npm run cli` does. Its stop must
 * not change the status the command chose.
 */
describe('command line exit statuses, with the embedded database', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let organizationId: string;

  function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { ...env, ...extra }, timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
  }

  function mapFile(name: string, lines: string[]): string {
    const path = join(dir, name);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  }

  const summaryOf = (run: Run) =>
    run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((record) => record.type === 'summary');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'helopass-cli-exit-'));
    // As root, the embedded PostgreSQL runs as a `postgres` user, who must be able to enter DATA_DIR's parent.
    chmodSync(dir, 0o755);
    env = { ...process.env, DATA_DIR: join(dir, 'data'), EMBEDDED_POSTGRES_PORT: String(20_000 + Math.floor(Math.random() * 20_000)) };
    delete env.DATABASE_URL;
    delete env.TEST_DATABASE_URL;

    // The cluster is created, migrated and stopped by the CLI itself.
    const migrated = await cli(['db', 'migrate']);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^applied: /);

    // An organization to import into, written while no CLI runs (the CLI stopped its cluster: this start proves it).
    const database = await startEmbeddedDatabase({ dataDir: env.DATA_DIR!, port: Number(env.EMBEDDED_POSTGRES_PORT), database: 'helopass', persistent: true });
    try {
      const client = new pg.Client({ connectionString: database.connectionString });
      await client.connect();
      organizationId = randomUUID();
      await client.query('INSERT INTO organizations (id, name) VALUES ($1, $2)', [organizationId, 'Exit Status Ltd']);
      await client.end();
    } finally {
      await database.stop();
    }
  }, 120_000);

  afterAll(() => {
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('import: 3 when lines were refused (dry run too), 0 when none were, 2 for bad input', async () => {
    const refused = mapFile('refused.cidr', ['192.0.2.10 OK', '203.0.113.5 REJECT']);
    const args = ['import', '--org', organizationId, '--format', 'postfix-cidr', '--json'];
    const justification = ['--justification', 'hand-kept for years; ticket CS-9'];

    const dry = await cli([...args, '--from', refused, '--dry-run', ...justification]);
    expect(dry.code, dry.stderr).toBe(3);
    expect(summaryOf(dry)).toMatchObject({ dryRun: true, imported: 1, refused: 1 });

    const unjustified = await cli([...args, '--from', mapFile('unproven.cidr', ['192.0.2.11 OK']), '--dry-run']);
    expect(unjustified.code, unjustified.stderr).toBe(3);
    expect(summaryOf(unjustified)).toMatchObject({ imported: 0, refused: 1 });

    const clean = await cli([...args, '--from', mapFile('clean.cidr', ['192.0.2.12 OK', '# a comment']), '--dry-run', ...justification]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(summaryOf(clean)).toMatchObject({ dryRun: true, imported: 1, refused: 0 });

    const unknownOrganization = await cli(['import', '--org', randomUUID(), '--format', 'postfix-cidr', '--from', refused]);
    expect(unknownOrganization).toMatchObject({ code: 2, stderr: expect.stringContaining('organization not found') });
    const noAddress = await cli(['import', '--org', organizationId, '--format', 'postfix-access', '--from', refused]);
    expect(noAddress).toMatchObject({ code: 2, stderr: expect.stringContaining('--address') });
    const missingFile = await cli([...args, '--from', join(dir, 'no-such.cidr')]);
    expect(missingFile).toMatchObject({ code: 2, stderr: expect.stringContaining('ENOENT') });
    const badFormat = await cli(['import', '--org', organizationId, '--format', 'exim', '--from', refused]);
    expect(badFormat).toMatchObject({ code: 2, stderr: expect.stringContaining('--format') });
  }, 120_000);

  it('api-keys: 0 when done, 2 for a bad command line or an unknown key, and nothing written on refusal', async () => {
    const created = await cli(['api-keys', 'create', '--name', 'exit status filter', '--role', 'filter', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string };

    const badRole = await cli(['api-keys', 'create', '--name', 'refused key', '--role', 'root']);
    expect(badRole).toMatchObject({ code: 2, stderr: expect.stringContaining('--role') });
    const noOwner = await cli(['api-keys', 'create', '--name', 'refused key', '--role', 'admin']);
    expect(noOwner).toMatchObject({ code: 2, stderr: expect.stringContaining('--owner is required') });
    const unknown = await cli(['api-keys', 'revoke', randomUUID()]);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('not found') });
    const noCommand = await cli(['api-keys', 'rotate']);
    expect(noCommand.code).toBe(2);

    const listed = await cli(['api-keys', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const names = listed.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { name: string }).name);
    expect(names).toContain('exit status filter');
    expect(names).not.toContain('refused key');
    expect(listed.stdout).not.toContain(key.key);

    const revoked = await cli(['api-keys', 'revoke', key.id]);
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`revoked ${key.id}`) });
  }, 120_000);

  it('1 when the database cannot be reached, without the password in the message', async () => {
    const run = await cli(['api-keys', 'list'], { DATABASE_URL: 'postgres://helopass:s3cret-pw@127.0.0.1:1/helopass', DB_CONNECT_TIMEOUT_MS: '1000' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^helopass: /);
    expect(run.stderr).not.toContain('s3cret-pw');
  });

  it('--help is 0, an unknown command 2', async () => {
    const help = await cli(['--help']);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('api-keys') });
    expect((await cli(['frobnicate'])).code).toBe(2);
  });
});

describe('npm run cli: built at install, rebuilt only when the sources changed', () => {
  const check = () => spawnSync(process.execPath, ['scripts/build.mjs', '--check']).status;

  it('runs the built CLI without building when nothing changed since the last build', () => {
    // `npm test` built what was stale before the suite started (pretest: scripts/build.mjs --if-stale).
    expect(check()).toBe(0);
    const builtAt = statSync(CLI).mtimeMs;
    const run = spawnSync('npm', ['run', '--silent', 'cli', '--', '--help'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('api-keys');
    expect(run.stderr).toBe('');
    expect(statSync(CLI).mtimeMs).toBe(builtAt);
  });

  it('sees a build whose sources changed since as stale', () => {
    const stamp = 'dist/.build-fingerprint';
    const kept = readFileSync(stamp);
    try {
      writeFileSync(stamp, 'the fingerprint of other sources\n');
      expect(check()).toBe(1);
    } finally {
      writeFileSync(stamp, kept);
    }
    expect(check()).toBe(0);
  });
});
