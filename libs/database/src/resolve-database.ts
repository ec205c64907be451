import type { HeloPassConfig } from '@app/config';
import { startEmbeddedDatabase } from './embedded-postgres.js';
import { migrateDatabase } from './database-roles.js';
import { databaseUnavailability } from './database-unavailable.js';

export interface ResolvedDatabase {
  /** The running services' connection (DATABASE_URL's role). */
  readonly connectionString: string;
  /** The schema owner's connection, for migrations (MIGRATION_DATABASE_URL). */
  readonly migrationConnectionString: string;
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
  /**
   * A long-running process (API, worker, policy server) starts while the
   * database cannot be reached, and migrates once it can; a command (the CLI)
   * fails at once instead.
   */
  readonly tolerateOutage?: boolean;
}

export async function resolveDatabase(
  config: HeloPassConfig,
  log: (line: string) => void = () => undefined,
  options: ResolveDatabaseOptions = {},
): Promise<ResolvedDatabase> {
  let resolved: ResolvedDatabase;
  if (config.databaseUrl !== undefined) {
    resolved = {
      connectionString: config.databaseUrl,
      migrationConnectionString: config.migrationDatabaseUrl ?? config.databaseUrl,
      embedded: false,
      stop: async () => undefined,
    };
  } else {
    const embedded = await startEmbeddedDatabase({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      database: 'helopass',
      persistent: true,
      ownProcessGroup: options.ownProcessGroup ?? false,
    });
    log(`embedded PostgreSQL on 127.0.0.1:${config.embeddedPostgresPort}, data in ${config.dataDir}/postgres`);
    resolved = {
      connectionString: embedded.runtimeConnectionString,
      migrationConnectionString: embedded.connectionString,
      embedded: true,
      stop: () => embedded.stop(),
    };
  }
  if (config.migrateOnStart) {
    const migrate = async () => {
      const { applied, roles } = await migrateDatabase(resolved.migrationConnectionString, resolved.connectionString);
      if (applied.length > 0) {
        log(`applied migrations: ${applied.join(', ')}`);
      }
      warnLoudly(roles.warnings);
    };
    try {
      await migrate();
    } catch (error) {
      if (databaseUnavailability(error) === undefined || options.tolerateOutage !== true) {
        await resolved.stop();
        throw error;
      }
      // A restart during an outage still serves what is kept on disk: migrate once the database answers.
      log(`the database cannot be reached (${error instanceof Error ? error.message : String(error)}); migrations are applied once it can`);
      retryInBackground(migrate, log);
    }
  }
  return resolved;
}

/** Tries `migrate` again, 1 s apart and doubling up to 30 s, until it succeeds or fails otherwise than by an outage. */
function retryInBackground(migrate: () => Promise<void>, log: (line: string) => void, delayMs = 1000): void {
  setTimeout(() => {
    migrate().then(
      () => log('the database answers again; migrations are up to date'),
      (error: unknown) => {
        if (databaseUnavailability(error) === undefined) {
          console.error(`\n*** migrations failed: ${error instanceof Error ? error.message : String(error)}\n`);
          return;
        }
        retryInBackground(migrate, log, Math.min(delayMs * 2, 30_000));
      },
    );
  }, delayMs).unref();
}

/** On standard error, framed so that it stands out in a start-up's output. */
function warnLoudly(warnings: readonly string[]): void {
  for (const warning of warnings) {
    console.error(`\n*** WARNING: ${warning}\n`);
  }
}
