import pg from 'pg';
import { applyMigrations } from './migrations.js';

/**
 * Two database roles keep the audit trail out of the running services' reach:
 * the owner (MIGRATION_DATABASE_URL) creates and owns every table; the
 * services' role (DATABASE_URL) is granted only what it needs. On the
 * append-only tables that is INSERT and SELECT: it cannot UPDATE, DELETE or
 * TRUNCATE them, and — not being their owner — cannot ALTER them, disable or
 * drop their triggers either.
 */

/** Tables the services may add to and read, never change. */
export const APPEND_ONLY_TABLES = ['audit_events', 'audit_chain', 'audit_checkpoints', 'allowlist_state_snapshots'] as const;
/** Read by the services (readiness), written only by migrations. */
const READ_ONLY_TABLES = ['_prisma_migrations'] as const;
/** pg-boss keeps its job queue here; it is the services' own, created by them table by table. */
export const JOB_QUEUE_SCHEMA = 'pgboss';

export interface RoleSeparation {
  readonly ownerRole: string;
  readonly runtimeRole: string;
  /** False when both URLs connect as one role: the trail is then only as safe as that role. */
  readonly separate: boolean;
  /** What an operator must hear at start (each one line). */
  readonly warnings: string[];
}

async function connected<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function roleOf(connectionString: string): Promise<{ role: string; superuser: boolean }> {
  return connected(connectionString, async (client) => {
    const { rows } = await client.query<{ role: string; superuser: boolean }>(
      `SELECT current_user AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`,
    );
    return rows[0]!;
  });
}

/**
 * Grants the role of `runtimeUrl` exactly what the services need on the
 * database of `ownerUrl` (run after the migrations, as their owner, every
 * time: tables a migration added are covered at once). Idempotent; in one
 * transaction, so a running service never sees its rights half-granted.
 */
export async function grantRuntimeRole(ownerUrl: string, runtimeUrl: string): Promise<RoleSeparation> {
  const runtime = await roleOf(runtimeUrl);
  return connected(ownerUrl, async (client) => {
    const owner = (await client.query<{ role: string }>('SELECT current_user AS role')).rows[0]!.role;
    const warnings: string[] = [];
    if (owner === runtime.role) {
      // One role for both is harmless only while it owns nothing of the trail (someone else migrated).
      const owns = await client.query(
        `SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'audit_events' AND tableowner = current_user`,
      );
      if (owns.rowCount === 0 && !runtime.superuser) {
        return { ownerRole: owner, runtimeRole: runtime.role, separate: false, warnings };
      }
      warnings.push(
        `DATABASE_URL and MIGRATION_DATABASE_URL connect as the same role (${owner}): the running services own the audit ` +
          `table and could rewrite the trail or switch its guard off. Give them a role of their own (README: "Two database roles").`,
      );
      return { ownerRole: owner, runtimeRole: runtime.role, separate: false, warnings };
    }
    if (runtime.superuser) {
      warnings.push(
        `DATABASE_URL connects as ${runtime.role}, a superuser: grants do not bind it, and the audit trail is only as safe as that role.`,
      );
    }
    const r = pg.escapeIdentifier(runtime.role);
    await client.query('BEGIN');
    try {
      const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
      await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${pg.escapeIdentifier(database)} TO ${r}`);
      await client.query(`GRANT USAGE ON SCHEMA public TO ${r}`);
      await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${r}`);
      await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`);
      for (const table of await existing(client, APPEND_ONLY_TABLES)) {
        await client.query(`REVOKE UPDATE, DELETE ON ${pg.escapeIdentifier(table)} FROM ${r}`);
      }
      for (const table of await existing(client, READ_ONLY_TABLES)) {
        await client.query(`REVOKE INSERT, UPDATE, DELETE ON ${pg.escapeIdentifier(table)} FROM ${r}`);
      }
      await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${r}`);
      await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r}`);
      // The job queue creates its own tables at start: a schema it may create in (and nothing else may).
      const q = pg.escapeIdentifier(JOB_QUEUE_SCHEMA);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
      await client.query(`GRANT USAGE, CREATE ON SCHEMA ${q} TO ${r}`);
      await client.query(`GRANT ALL ON ALL TABLES IN SCHEMA ${q} TO ${r}`);
      await client.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA ${q} TO ${r}`);
      await client.query(`GRANT ALL ON ALL FUNCTIONS IN SCHEMA ${q} TO ${r}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    const owned = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
       ORDER BY 1 LIMIT 5`,
      [runtime.role],
    );
    if (owned.rows.length > 0) {
      warnings.push(
        `DATABASE_URL's role ${runtime.role} owns ${owned.rows.map((row) => row.name).join(', ')}: an owner can rewrite them. ` +
          `As the owner run: REASSIGN OWNED BY ${r} TO ${pg.escapeIdentifier(owner)}; then start again.`,
      );
    }
    return { ownerRole: owner, runtimeRole: runtime.role, separate: true, warnings };
  });
}

async function existing(client: pg.Client, tables: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])`,
    [tables],
  );
  return rows.map((row) => row.name);
}

/** Creates (or re-passwords) a login role for the services, with no rights beyond logging in. */
export async function ensureRuntimeRole(adminUrl: string, role: string, password: string): Promise<void> {
  await connected(adminUrl, async (client) => {
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    const verb = exists.rowCount === 0 ? 'CREATE' : 'ALTER';
    await client.query(
      `${verb} ROLE ${pg.escapeIdentifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${pg.escapeLiteral(password)}`,
    );
  });
}

/** The same server and database as `url`, as another role. */
export function connectionAs(url: string, role: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

export interface MigratedDatabase {
  readonly applied: string[];
  readonly roles: RoleSeparation;
}

/** The migrations as the owner, then the services' grants (what `db migrate` and a start with MIGRATE_ON_START do). */
export async function migrateDatabase(ownerUrl: string, runtimeUrl: string, dir?: string): Promise<MigratedDatabase> {
  const applied = await applyMigrations(ownerUrl, dir);
  const roles = await grantRuntimeRole(ownerUrl, runtimeUrl);
  return { applied, roles };
}

/**
 * Whether the job queue's schema is there already (made by the migrations'
 * grants): pg-boss then must not issue CREATE SCHEMA, which needs a right on
 * the whole database that the services' role does not have.
 */
export async function jobQueueSchemaExists(connectionString: string): Promise<boolean> {
  return connected(connectionString, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [JOB_QUEUE_SCHEMA]);
    return (rowCount ?? 0) > 0;
  });
}
