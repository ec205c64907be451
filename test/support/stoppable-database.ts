import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, startEmbeddedDatabase, type EmbeddedDatabase } from '@app/database';
import { freePort } from './free-port.js';

/** A PostgreSQL of the spec's own (embedded, on a free port, data kept across restarts), which the spec stops and starts again. */
export interface StoppableDatabase {
  /** The owner's connection string (the same across restarts). */
  readonly connectionString: string;
  readonly running: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it (if running) and removes its data. */
  remove(): Promise<void>;
}

export async function startStoppableDatabase(label: string): Promise<StoppableDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), `helopass-${label}-`));
  const port = await freePort();
  let database: EmbeddedDatabase | undefined = await startEmbeddedDatabase({ dataDir, port, database: 'helopass', persistent: true });
  await applyMigrations(database.connectionString);
  const connectionString = database.connectionString;
  return {
    connectionString,
    get running() {
      return database !== undefined;
    },
    async stop() {
      await database?.stop();
      database = undefined;
    },
    async start() {
      database ??= await startEmbeddedDatabase({ dataDir, port, database: 'helopass', persistent: true });
    },
    async remove() {
      await database?.stop();
      database = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
