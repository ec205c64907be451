import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '@app/database';
import { createRuntimeRole, createScratchDatabase, dropDatabase, dropRuntimeRole, migrateAsOwner } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated, throwaway database for this run, as the services' role (granted only what they need). */
    databaseUrl: string;
    /** The same database as its owner (the role the migrations ran as). */
    ownerUrl: string;
    /** The services' role on this server: `{role, password}` as JSON, for databases of a spec's own. */
    runtimeRole: string;
    /** The server's maintenance database, for specs that need a database of their own. */
    adminUrl: string;
  }
}

/**
 * One PostgreSQL for the whole e2e run: the server named by TEST_DATABASE_URL,
 * or an embedded one in a temporary folder. Either way the run works in a
 * database it creates and drops, never in the `npm start` data.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl === undefined || adminUrl === '') {
    dataDir = mkdtempSync(join(tmpdir(), 'helopass-test-'));
    embedded = await startEmbeddedDatabase({
      dataDir,
      port: 20_000 + Math.floor(Math.random() * 20_000),
      database: 'postgres',
      persistent: false,
    });
    adminUrl = embedded.connectionString;
  }
  const runtimeRole = await createRuntimeRole(adminUrl);
  const owned = await createScratchDatabase(adminUrl, 'run');
  let databaseUrl: string;
  try {
    databaseUrl = await migrateAsOwner(owned, runtimeRole);
  } catch (error) {
    await dropDatabase(adminUrl, owned);
    await dropRuntimeRole(adminUrl, runtimeRole);
    await embedded?.stop();
    throw error;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('ownerUrl', owned);
  project.provide('adminUrl', adminUrl);
  project.provide('runtimeRole', JSON.stringify(runtimeRole));
  return async () => {
    await dropDatabase(adminUrl, databaseUrl);
    await dropRuntimeRole(adminUrl, runtimeRole);
    await embedded?.stop();
    if (dataDir) {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
}
