import 'reflect-metadata';
import { ConfigError, loadConfig } from '@app/config';
import { resolveDatabase, type ResolvedDatabase } from '@app/database';
import { startWorker, type RunningWorker } from './worker.js';

/** What `npm start` waits for on the IPC channel (apps/api/src/worker-process.ts). */
const READY = 'helopass-worker-ready';

/**
 * The worker on its own (`npm run start:worker`), for deployments that scale
 * it apart from the API; also what `npm start` runs as its child process,
 * which then passes the resolved DATABASE_URL. SIGINT or SIGTERM stops it,
 * letting a running sweep finish; started by `npm start`, it also stops when
 * that process goes away (its IPC channel closes).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`HeloPass worker cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const say = (line: string) => console.log(`[helopass-worker] ${line}`);
  const state: { running?: { worker: RunningWorker; database: ResolvedDatabase }; stopRequested?: string; stopping: boolean } = {
    stopping: false,
  };
  // Signals are taken from the start: one that arrives while the worker boots stops it once it has.
  const stop = (why: string) => {
    state.stopRequested ??= why;
    if (state.running === undefined || state.stopping) {
      return;
    }
    state.stopping = true;
    say(`${state.stopRequested}: stopping`);
    const { worker, database } = state.running;
    void (async () => {
      let code = 0;
      try {
        await worker.stop();
      } catch (error) {
        console.error('HeloPass worker did not stop cleanly:', error instanceof Error ? error.message : error);
        code = 1;
      }
      await database.stop();
      process.exit(code);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (process.send !== undefined) {
    process.on('disconnect', () => stop('the API process went away'));
  }

  // Its own embedded PostgreSQL (no DATABASE_URL) is stopped here, last, not by a terminal's Ctrl-C.
  const database = await resolveDatabase(config, say, { ownProcessGroup: true });
  let worker: RunningWorker;
  try {
    worker = await startWorker({ ...config, databaseUrl: database.connectionString });
  } catch (error) {
    await database.stop();
    throw error;
  }
  state.running = { worker, database };
  say(`running as process ${process.pid}`);
  if (process.send !== undefined && process.connected) {
    process.send({ type: READY });
  }
  if (state.stopRequested !== undefined) {
    stop(state.stopRequested);
  }
}

main().catch((error: unknown) => {
  console.error('HeloPass worker failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
