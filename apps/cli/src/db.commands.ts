import { Command } from 'commander';
import { applyMigrations, startEmbeddedDatabase } from '@app/database';
import type { CliRuntime } from './runtime.js';

/** `db migrate`: apply pending migrations to DATABASE_URL (or the embedded PostgreSQL). */
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
        const applied = await applyMigrations(embedded?.connectionString ?? config.databaseUrl!);
        runtime.print(applied.length === 0 ? 'database is up to date' : `applied: ${applied.join(', ')}`);
      } finally {
        await embedded?.stop();
      }
    });
  return command;
}
