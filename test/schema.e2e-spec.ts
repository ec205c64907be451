import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { readMigrations } from '@app/database';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { schemaDrift } from './support/schema-drift.js';

const run = promisify(execFile);
const CLI = 'dist/apps/cli/src/main.js';

describe('migrations', () => {
  it('`db migrate` brings a fresh database exactly to prisma/schema.prisma (no drift), and is idempotent', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'drift');
    try {
      const env = { ...process.env, DATABASE_URL: databaseUrl };
      const first = await run(process.execPath, [CLI, 'db', 'migrate'], { env });
      expect(first.stdout).toContain('applied: 20261128000000_init, 20261128010000_ownership, 20261128020000_exceptions');
      expect(await schemaDrift(databaseUrl)).toEqual([]);

      const second = await run(process.execPath, [CLI, 'db', 'migrate'], { env });
      expect(second.stdout).toContain('up to date');

      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      const bookkeeping = await client.query('SELECT migration_name, checksum FROM "_prisma_migrations"');
      await client.end();
      expect(bookkeeping.rows).toHaveLength(readMigrations().length);
      expect(bookkeeping.rows[0].checksum).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });

  it('the drift check notices a database that differs from the schema', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'drift2');
    try {
      await run(process.execPath, [CLI, 'db', 'migrate'], { env: { ...process.env, DATABASE_URL: databaseUrl } });
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query('ALTER TABLE organizations ALTER COLUMN notes TYPE text');
      await client.query('DROP INDEX mail_servers_helo_hostname_idx');
      await client.query('ALTER TABLE api_keys ADD COLUMN stray integer');
      await client.end();
      expect(await schemaDrift(databaseUrl)).toEqual([
        'organizations.notes is text, schema says character varying(4000)',
        'mail_servers lacks an index on (helo_hostname)',
        'api_keys.stray is not in the schema',
      ]);
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });
});
