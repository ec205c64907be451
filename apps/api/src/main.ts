import 'reflect-metadata';
import { ApiKeysService } from '@app/access';
import { ConfigError, loadConfig, resolveLogFormat } from '@app/config';
import { resolveDatabase } from '@app/database';
import { createApp } from './bootstrap.js';
import { firstAdminKeyLines } from './start-output.js';
import { WorkerProcess } from './worker-process.js';

/**
 * `npm start`: the database (DATABASE_URL, or an embedded PostgreSQL under
 * DATA_DIR), migrations, the first admin key, the API, and (RUN_WORKER) the
 * worker as a child process of its own. Ctrl-C or SIGTERM stops it all in
 * order: the worker, the API, then the embedded PostgreSQL (which runs in a
 * process group of its own, so the terminal's Ctrl-C reaches this process
 * only). A generated admin key is printed last, once the worker runs.
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
  const format = resolveLogFormat(config.logFormat);
  // Signals are taken from the start: the embedded PostgreSQL does not see the terminal's Ctrl-C,
  // so this process must live to stop it, also when the signal comes while it boots.
  const shutdown: { requested?: string; run?: (signal: string) => Promise<void> } = {};
  const onSignal = (signal: string) => (shutdown.run ? void shutdown.run(signal) : (shutdown.requested ??= signal));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const database = await resolveDatabase(config, say, { ownProcessGroup: true });
  let stopping = false;
  // A key generated but not printed yet: printed by a stop that comes first, never lost.
  let unprintedKey: string | undefined;
  const printKey = () => {
    if (unprintedKey !== undefined) {
      console.log(firstAdminKeyLines(unprintedKey, config.bootstrapAdminOwner, format).join('\n'));
      unprintedKey = undefined;
    }
  };
  try {
    const resolved = { ...config, databaseUrl: database.connectionString };
    const app = await createApp(resolved);
    let worker: WorkerProcess | undefined;
    shutdown.run = async (signal: string) => {
      if (stopping) {
        return;
      }
      stopping = true;
      printKey();
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
    if (shutdown.requested !== undefined) {
      await shutdown.run(shutdown.requested);
      return;
    }

    // In production no key is generated: a printed secret would end up in the log collector.
    const bootstrap = await app.get(ApiKeysService).ensureBootstrapAdmin(config.bootstrapAdminKey, { generate: !config.production });
    unprintedKey = bootstrap.secret;
    if (bootstrap.registered === 'given') {
      say('BOOTSTRAP_ADMIN_KEY registered as an admin key');
    } else if (bootstrap.secret === undefined && bootstrap.noKeys) {
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
      // Its start-up lines come before the last ones below, not between them.
      await worker.started(30_000);
    }
    if (!stopping) {
      const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
      say(`API on ${base}/v1, docs on ${base}/docs (OpenAPI: ${base}/docs/json)`);
      // Shown once, here, last, and stored only as a hash.
      printKey();
    }
  } catch (error) {
    printKey();
    await database.stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error('HeloPass failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
