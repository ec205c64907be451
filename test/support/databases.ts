import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectionAs, ensureRuntimeRole, migrateDatabase } from '@app/database';

/** The services' login role for one test run (roles are server-wide: its name is the run's own). */
export interface RuntimeRole {
  readonly role: string;
  readonly password: string;
}

export async function createRuntimeRole(adminUrl: string): Promise<RuntimeRole> {
  const runtime = { role: `helopass_test_app_${randomBytes(5).toString('hex')}`, password: randomBytes(18).toString('base64url') };
  await ensureRuntimeRole(adminUrl, runtime.role, runtime.password);
  return runtime;
}

/** Best effort: a database a spec left behind still holds grants to the role. */
export async function dropRuntimeRole(adminUrl: string, runtime: RuntimeRole): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(runtime.role)}`).catch(() => undefined);
  } finally {
    await client.end();
  }
}

/** Migrates `ownedUrl` (as its owner) and answers the same database as the services' role, granted what it needs. */
export async function migrateAsOwner(ownedUrl: string, runtime: RuntimeRole): Promise<string> {
  const runtimeUrl = connectionAs(ownedUrl, runtime.role, runtime.password);
  await migrateDatabase(ownedUrl, runtimeUrl);
  return runtimeUrl;
}

/** Creates an empty database named helopass_test_<label>_<random> on the server of `adminUrl`. */
export async function createScratchDatabase(adminUrl: string, label: string): Promise<string> {
  const name = `helopass_test_${label}_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = '/' + name;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
