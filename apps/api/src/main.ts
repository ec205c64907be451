import 'reflect-metadata';
import { ApiKeysService } from '@app/access';
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
    const app = await createApp(config);
    let worker: SupervisedProcess | undefined;
    let policy: SupervisedProcess | undefined;
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
    const bootstrap = await app.get(ApiKeysService).ensureBootstrapAdmin(config.bootstrapAdminKey, { generate: !config.production });
    if (bootstrap.registered === 'given') {
      say('BOOTSTRAP_ADMIN_KEY registered as an admin key');
    } else if (bootstrap.secret === undefined && bootstrap.noKeys) {
      say('no API key exists yet (none is generated with NODE_ENV=production). Create the first admin key with');
      say('  node dist/apps/cli/src/main.js api-keys create --role admin --name <name> --owner <you@example.com>');
      say('(it prints the key once, to that terminal only), or set BOOTSTRAP_ADMIN_KEY and restart.');
    }
    // A key generated is printed whatever happens next (a stop asked for meanwhile included): never lost.
    const printKey = () => {
      if (bootstrap.secret !== undefined) {
        console.log(firstAdminKeyLines(bootstrap.secret, config.bootstrapAdminOwner, logFormat).join('\n'));
      }
    };
    try {
      await app.listen({ port: config.port, host: config.host });
      if (config.runWorker && !stopRequested()) {
        // One command runs everything, the worker in a process of its own on this database
        // (migrations are done): its DNS work never shares the event loop that serves the feed.
        worker = new SupervisedProcess({
          env: { ...process.env, DATABASE_URL: database.connectionString, MIGRATE_ON_START: 'false' },
          say,
        });
        worker.start();
        // Its start-up lines come before the last ones below, not between them.
        await Promise.race([worker.started(30_000), untilAborted(stopSignal)]);
      }
      if (config.policy.runWithApi && !stopRequested()) {
        // The Postfix policy server, in a process of its own: its answers never wait behind the API's work.
        policy = new SupervisedProcess({
          env: { ...process.env, DATABASE_URL: database.connectionString, MIGRATE_ON_START: 'false' },
          say,
          entry: POLICY_ENTRY,
          label: 'policy server',
          readyType: POLICY_READY,
          stopTimeoutMs: 10_000,
          describe: (ready) => `Postfix policy service on inet:${hostAndPort(String(ready.host), String(ready.port))}`,
        });
        policy.start();
        await Promise.race([policy.started(30_000), untilAborted(stopSignal)]);
      }
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
