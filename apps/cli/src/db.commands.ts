import { Command } from 'commander';
import { migrateDatabase, startEmbeddedDatabase } from '@app/database';
import type { CliRuntime } from './runtime.js';

/**
 * `db migrate`: apply pending migrations as MIGRATION_DATABASE_URL's role (the
 * owner; DATABASE_URL's when unset, or the embedded PostgreSQL's), then grant
 * DATABASE_URL's role what the services need.
 */
export function dbCommands(runtime: CliRuntime): Command {
  const command = new Command('db').description('database maintenance');
  command
    .command('migrate')
    .description('apply every pending migration in prisma/migrations')
    .action(async () => {
      const config = runtime.config();
      const embedded =
        config.databaseUrl === undefined
          ? await startEmbeddedDatabase({
              dataDir: config.dataDir,
              port: config.embeddedPostgresPort,
              database: 'helopass',
              persistent: true,
            })
          : undefined;
      try {
        const { applied, roles } = await migrateDatabase(
          embedded?.connectionString ?? config.migrationDatabaseUrl!,
          embedded?.runtimeConnectionString ?? config.databaseUrl!,
        );
        runtime.print(applied.length === 0 ? 'database is up to date' : `applied: ${applied.join(', ')}`);
        runtime.print(`role ${roles.runtimeRole}: ${roles.separate ? `granted what the services need (owner: ${roles.ownerRole})` : roles.warnings.length > 0 ? 'is also the owner' : 'runs the services; another role owns the schema'}`);
        for (const warning of roles.warnings) {
          runtime.warn(`WARNING: ${warning}`);
        }
      } finally {
        await embedded?.stop();
      }
    });
  return command;
}
