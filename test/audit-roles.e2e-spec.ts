import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase, dropDatabase, type RuntimeRole } from './support/databases.js';
import { createOrganization, startTestApp, type TestApp } from './support/test-app.js';
import { connectionAs } from '@app/database';

const run = promisify(execFile);
const CLI = 'dist/apps/cli/src/main.js';

/** One audit row as stored, every column, to show it did not change. */
async function storedEvent(ownerUrl: string, id: string): Promise<Record<string, unknown>> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    return (await client.query('SELECT * FROM audit_events WHERE id = $1', [id])).rows[0];
  } finally {
    await client.end();
  }
}

describe('audit trail: the running services cannot rewrite it', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("the service's own database connection can add and read audit rows, but not alter, delete, truncate or unguard them", async () => {
    const org = await createOrganization(t);
    const event = await t.prisma.auditEvent.findFirstOrThrow({ where: { entityId: org.id, action: 'organization.created' } });
    const before = await storedEvent(inject('ownerUrl'), event.id);

    // The application's own client (PrismaService, DATABASE_URL's role) tries what a compromised service would.
    const attempts: Array<[string, RegExp]> = [
      [`UPDATE audit_events SET action = 'organization.deleted' WHERE id = '${event.id}'`, /permission denied for table audit_events/],
      [`DELETE FROM audit_events WHERE id = '${event.id}'`, /permission denied for table audit_events/],
      ['TRUNCATE audit_events', /permission denied for table audit_events/],
      ['ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete', /must be owner of table audit_events/],
      ['ALTER TABLE audit_events DISABLE TRIGGER ALL', /must be owner of table audit_events/],
      ['DROP TRIGGER audit_events_no_update_delete ON audit_events', /must be owner of (table|relation) audit_events/],
      ['DROP TABLE audit_events', /must be owner of table audit_events/],
      [`ALTER TABLE audit_events OWNER TO CURRENT_USER`, /must be owner of table audit_events/],
      ['SET session_replication_role = replica', /permission denied to set parameter "session_replication_role"/],
    ];
    for (const [sql, refusal] of attempts) {
      await expect(t.prisma.$executeRawUnsafe(sql), sql).rejects.toThrow(refusal);
    }

    expect(await storedEvent(inject('ownerUrl'), event.id)).toEqual(before);
    const roles = await t.prisma.$queryRawUnsafe<Array<{ role: string; owner: string; superuser: boolean }>>(
      `SELECT current_user AS role, tableowner AS owner, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser
       FROM pg_tables WHERE tablename = 'audit_events'`,
    );
    expect(roles[0]!.superuser).toBe(false);
    expect(roles[0]!.role).not.toBe(roles[0]!.owner);
  });

  it('db migrate runs as MIGRATION_DATABASE_URL and grants DATABASE_URL only what the services need; one role for both is warned about', async () => {
    const adminUrl = inject('adminUrl');
    const runtime = JSON.parse(inject('runtimeRole')) as RuntimeRole;
    const ownerUrl = await createScratchDatabase(adminUrl, 'roles');
    try {
      const runtimeUrl = connectionAs(ownerUrl, runtime.role, runtime.password);
      const separate = await run(process.execPath, [CLI, 'db', 'migrate'], {
        env: { ...process.env, DATABASE_URL: runtimeUrl, MIGRATION_DATABASE_URL: ownerUrl },
      });
      expect(separate.stdout).toContain(`role ${runtime.role}: granted what the services need`);
      expect(separate.stderr).not.toContain('WARNING');

      const client = new pg.Client({ connectionString: runtimeUrl });
      await client.connect();
      try {
        const rights = await client.query<{ table: string; rights: string }>(
          `SELECT t AS table, string_agg(p, ',' ORDER BY p) AS rights
           FROM unnest(ARRAY['audit_events', 'organizations', '_prisma_migrations']) AS t,
                unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES']) AS p
           WHERE has_table_privilege(t, p) GROUP BY t ORDER BY t`,
        );
        expect(Object.fromEntries(rights.rows.map((row) => [row.table, row.rights]))).toEqual({
          _prisma_migrations: 'SELECT',
          audit_events: 'INSERT,SELECT',
          organizations: 'DELETE,INSERT,SELECT,UPDATE',
        });
      } finally {
        await client.end();
      }

      const same = await run(process.execPath, [CLI, 'db', 'migrate'], { env: { ...process.env, DATABASE_URL: ownerUrl, MIGRATION_DATABASE_URL: '' } });
      expect(same.stderr).toMatch(/WARNING: DATABASE_URL and MIGRATION_DATABASE_URL connect as the same role/);
    } finally {
      await dropDatabase(adminUrl, ownerUrl);
    }
  });
});
