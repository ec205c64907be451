import 'reflect-metadata';
import { ApiKeysService } from '@app/access';
import { ConfigError, loadConfig } from '@app/config';
import { resolveDatabase } from '@app/database';
import { createApp } from './bootstrap.js';
import { WorkerProcess } from './worker-process.js';

/**
 * `npm start`: the database (DATABASE_URL, or an embedded PostgreSQL under
 * DATA_DIR), migrations, the first admin key, the API, and (RUN_WORKER) the
 * worker as a child process of its own. Ctrl-C or SIGTERM stops it all in
 * order: the worker, the API, then the embedded PostgreSQL.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`HeloPass cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const say = (line: string) => console.log(`[helopass] ${line}`);
  const database = await resolveDatabase(config, say);
  let stopping = false;
  try {
    const resolved = { ...config, databaseUrl: database.connectionString };
    const app = await createApp(resolved);
    let worker: WorkerProcess | undefined;
    const stop = async (signal: string) => {
      if (stopping) {
        return;
      }
      stopping = true;
      say(`${signal}: stopping`);
      await worker?.stop();
      await app.close();
      say('API stopped');
      await database.stop();
      if (database.embedded) {
        say('embedded PostgreSQL stopped');
      }
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));

    // In production no key is generated: a printed secret would end up in the log collector.
    const bootstrap = await app.get(ApiKeysService).ensureBootstrapAdmin(config.bootstrapAdminKey, { generate: !config.production });
    if (bootstrap.registered === 'given') {
      say('BOOTSTRAP_ADMIN_KEY registered as an admin key');
    } else if (bootstrap.secret !== undefined) {
      // Shown once, here, and stored only as a hash.
      say('no API key existed; created an admin key. It is shown only this once, keep it:');
      say(`  ${bootstrap.secret}`);
    } else if (bootstrap.noKeys) {
      say('no API key exists yet (none is generated with NODE_ENV=production). Create the first admin key with');
      say('  node dist/apps/cli/src/main.js api-keys create --role admin --name <name> --owner <you@example.com>');
      say('(it prints the key once, to that terminal only), or set BOOTSTRAP_ADMIN_KEY and restart.');
    }
    await app.listen({ port: config.port, host: config.host });
    if (config.runWorker && !stopping) {
      // One command runs everything, the worker in a process of its own on this database
      // (migrations are done): its DNS work never shares the event loop that serves the feed.
      worker = new WorkerProcess({
        env: { ...process.env, DATABASE_URL: database.connectionString, MIGRATE_ON_START: 'false' },
        say,
      });
      worker.start();
    }
    const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    say(`API on ${base}/v1, docs on ${base}/docs (OpenAPI: ${base}/docs/json)`);
  } catch (error) {
    await database.stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error('HeloPass failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
