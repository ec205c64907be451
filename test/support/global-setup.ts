import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { applyMigrations, startEmbeddedDatabase, type EmbeddedDatabase } from '@app/database';
import { createScratchDatabase, dropDatabase } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated, throwaway database for this run. */
    databaseUrl: string;
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
  const databaseUrl = await createScratchDatabase(adminUrl, 'run');
  try {
    await applyMigrations(databaseUrl);
  } catch (error) {
    await dropDatabase(adminUrl, databaseUrl);
    await embedded?.stop();
    throw error;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('adminUrl', adminUrl);
  return async () => {
    await dropDatabase(adminUrl, databaseUrl);
    await embedded?.stop();
    if (dataDir) {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
}
