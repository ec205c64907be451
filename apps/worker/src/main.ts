import 'reflect-metadata';
import { bootProcess, failedToStart } from '@app/runtime';
import { startWorker } from '@app/worker';

/** What `npm start` waits for on the IPC channel (apps/api/src/supervised-process.ts). */
const READY = 'helopass-worker-ready';

/**
 * The worker on its own (`npm run start:worker`), for deployments that scale
 * it apart from the API; also what `npm start` runs as its child process,
 * which then passes the resolved DATABASE_URL. SIGINT or SIGTERM stops it,
 * letting a running sweep finish; started by `npm start`, it also stops when
 * that process goes away (its IPC channel closes). An embedded PostgreSQL of
 * its own (no DATABASE_URL) is stopped last, not by a terminal's Ctrl-C.
 */
bootProcess({
  name: 'helopass-worker',
  title: 'HeloPass worker',
  ownProcessGroup: true,
  stopWithParent: true,
  async start({ config, say }) {
    const worker = await startWorker(config);
    say(`running as process ${process.pid}`);
    if (process.send !== undefined && process.connected) {
      process.send({ type: READY });
    }
    return { stop: () => worker.stop() };
  },
}).catch(failedToStart('HeloPass worker'));
