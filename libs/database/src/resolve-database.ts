import type { HeloPassConfig } from '@app/config';
import { startEmbeddedDatabase } from './embedded-postgres.js';
import { applyMigrations } from './migrations.js';

export interface ResolvedDatabase {
  readonly connectionString: string;
  readonly embedded: boolean;
  /** Stops the embedded PostgreSQL, if this process started one. */
  stop(): Promise<void>;
}

/**
 * The database a process uses: DATABASE_URL when set, else the embedded
 * PostgreSQL under DATA_DIR, started here. Pending migrations are applied
 * when MIGRATE_ON_START is on.
 */
export interface ResolveDatabaseOptions {
  /**
   * The embedded PostgreSQL runs in a process group of its own, so that a
   * Ctrl-C reaches only this process, which stops it last (npm start and the
   * worker do; see startPostmaster).
   */
  readonly ownProcessGroup?: boolean;
}

export async function resolveDatabase(
  config: HeloPassConfig,
  log: (line: string) => void = () => undefined,
  options: ResolveDatabaseOptions = {},
): Promise<ResolvedDatabase> {
  let resolved: ResolvedDatabase;
  if (config.databaseUrl !== undefined) {
    resolved = { connectionString: config.databaseUrl, embedded: false, stop: async () => undefined };
  } else {
    const embedded = await startEmbeddedDatabase({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      database: 'helopass',
      persistent: true,
      ownProcessGroup: options.ownProcessGroup ?? false,
    });
    log(`embedded PostgreSQL on 127.0.0.1:${config.embeddedPostgresPort}, data in ${config.dataDir}/postgres`);
    resolved = { connectionString: embedded.connectionString, embedded: true, stop: () => embedded.stop() };
  }
  if (config.migrateOnStart) {
    try {
      const applied = await applyMigrations(resolved.connectionString);
      if (applied.length > 0) {
        log(`applied migrations: ${applied.join(', ')}`);
      }
    } catch (error) {
      await resolved.stop();
      throw error;
    }
  }
  return resolved;
}
