import 'reflect-metadata';
import { ApiKeysService } from '@app/access';
import { databaseUnavailability } from '@app/database';
import { hostAndPort } from '@app/domain';
import { bootProcess, failedToStart } from '@app/runtime';
import { createApp } from './bootstrap.js';
import { drainHttp } from './http-drain.js';
import { firstAdminKeyLines } from './start-output.js';
import { POLICY_ENTRY, POLICY_READY, SupervisedProcess } from './supervised-process.js';

/**
 * `npm start`: the database (DATABASE_URL, or an embedded PostgreSQL under
 * DATA_DIR), migrations, the first admin key, the API, and (RUN_WORKER) the
 * worker as a child process of its own. Ctrl-C or SIGTERM stops it all in
 * order: the API refuses new connections and finishes the requests under
 * way while the worker stops, then the API closes, then the embedded PostgreSQL (which runs in a
 * process group of its own, so the terminal's Ctrl-C reaches this process
 * only). With RUN_POLICY_SERVER the Postfix policy server runs the same way.
 * A generated admin key is printed last, once the worker runs.
 */
/** How often the first admin key is checked again while the database cannot be reached at start. */
const BOOTSTRAP_RETRY_MS = 2000;

/** Resolves when `signal` is aborted (at once if it already is). */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

bootProcess({
  name: 'helopass',
  title: 'HeloPass',
  ownProcessGroup: true,
  stoppedLine: 'API stopped',
  sayDatabaseStopped: true,
  async start({ config, database, logFormat, say, stopRequested, stopSignal }) {
    // The worker and the policy server start in processes of their own while the API builds (migrations are
    // done): a start takes as long as the slowest of the three, not their sum.
    const childEnv = { ...process.env, DATABASE_URL: database.connectionString, MIGRATE_ON_START: 'false' };
    let worker: SupervisedProcess | undefined;
    let policy: SupervisedProcess | undefined;
    if (config.runWorker && !stopRequested()) {
      // Its DNS work never shares the event loop that serves the feed.
      worker = new SupervisedProcess({ env: childEnv, say });
      worker.start();
    }
    if (config.policy.runWithApi && !stopRequested()) {
      // Its answers never wait behind the API's work.
      policy = new SupervisedProcess({
        env: childEnv,
        say,
        entry: POLICY_ENTRY,
        label: 'policy server',
        readyType: POLICY_READY,
        stopTimeoutMs: 10_000,
        describe: (ready) => `Postfix policy service on inet:${hostAndPort(String(ready.host), String(ready.port))}`,
      });
      policy.start();
    }
    let app: Awaited<ReturnType<typeof createApp>>;
    try {
      app = await createApp(config);
    } catch (error) {
      await policy?.stop();
      await worker?.stop();
      throw error;
    }
    const stop = async () => {
      // New connections are refused at once; requests under way finish while the children stop.
      const stopChildren = async () => {
        await policy?.stop();
        await worker?.stop();
      };
      await Promise.all([drainHttp(app), stopChildren()]);
      await app.close();
    };
    if (stopRequested()) {
      return { stop };
    }
    // In production no key is generated: a printed secret would end up in the log collector.
    const ensureAdmin = () => app.get(ApiKeysService).ensureBootstrapAdmin(config.bootstrapAdminKey, { generate: !config.production });
    type Bootstrap = Awaited<ReturnType<typeof ensureAdmin>>;
    const announce = (bootstrap: Bootstrap) => {
      if (bootstrap.registered === 'given') {
        say('BOOTSTRAP_ADMIN_KEY registered as an admin key');
      } else if (bootstrap.secret === undefined && bootstrap.noKeys) {
        say('no API key exists yet (none is generated with NODE_ENV=production). Create the first admin key with');
        say('  node dist/apps/cli/src/main.js api-keys create --role admin --name <name> --owner <you@example.com>');
        say('(it prints the key once, to that terminal only), or set BOOTSTRAP_ADMIN_KEY and restart.');
      }
    };
    const printSecret = (bootstrap: Bootstrap | undefined) => {
      if (bootstrap?.secret !== undefined) {
        console.log(firstAdminKeyLines(bootstrap.secret, config.bootstrapAdminOwner, logFormat).join('\n'));
      }
    };
    let bootstrap: Bootstrap | undefined;
    try {
      bootstrap = await ensureAdmin();
      announce(bootstrap);
    } catch (error) {
      if (databaseUnavailability(error) === undefined) {
        await stop();
        throw error;
      }
      // Started during an outage: serve what is kept on disk; the first admin key is seen to once the database answers.
      say('the database cannot be reached: the feed and the policy server serve the snapshot kept on disk (SNAPSHOT_DIR) until it answers');
      const retry = () =>
        setTimeout(() => {
          if (stopRequested()) return;
          ensureAdmin().then(
            (late) => {
              announce(late);
              printSecret(late);
            },
            (later: unknown) => (databaseUnavailability(later) === undefined ? console.error('the first admin key could not be checked:', later) : retry()),
          );
        }, BOOTSTRAP_RETRY_MS).unref();
      retry();
    }
    // A key generated is printed whatever happens next (a stop asked for meanwhile included): never lost.
    const printKey = () => printSecret(bootstrap);
    try {
      await app.listen({ port: config.port, host: config.host });
      // Their start-up lines come before the last ones below, not between them. A worker cannot start while the
      // database is unreachable (it is restarted until it can): not waited for then.
      const starting = [policy?.started(30_000), bootstrap === undefined ? undefined : worker?.started(30_000)];
      await Promise.race([Promise.all(starting), untilAborted(stopSignal)]);
      if (!stopRequested()) {
        const base = `http://${hostAndPort(config.host, config.port)}`;
        if (config.console.enabled) {
          say(`console on ${base}/console (sign in with a person's API key), self-check page on ${base}/check`);
        }
        say(`API on ${base}/v1, docs on ${base}/docs (OpenAPI: ${base}/docs/json)`);
      }
    } catch (error) {
      printKey();
      await stop();
      throw error;
    }
    // Shown once, here, last, and stored only as a hash.
    printKey();
    return { stop };
  },
}).catch(failedToStart('HeloPass'));
