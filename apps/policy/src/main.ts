import 'reflect-metadata';
import { hostAndPort } from '@app/domain';
import { startPolicyServer } from '@app/policy';
import { bootProcess, failedToStart } from '@app/runtime';

/** What `npm start` waits for on the IPC channel (apps/api/src/policy-process.ts). */
const READY = 'helopass-policy-ready';

/**
 * The Postfix policy server on its own (`npm run start:policy`), one or
 * more per mail host or beside the API; also what `npm start` runs as a
 * child process, which then passes the resolved DATABASE_URL. SIGINT or
 * SIGTERM stops it: requests already sent are answered, connections
 * closed, then a last flush of the usage counts; started by
 * `npm start`, it also stops when that process goes away.
 */
bootProcess({
  name: 'helopass-policy',
  title: 'HeloPass policy server',
  ownProcessGroup: true,
  stopWithParent: true,
  async start({ config, say }) {
    const server = await startPolicyServer(config);
    say(`Postfix policy service on inet:${hostAndPort(server.host, server.port)}, process ${process.pid}`);
    if (process.send !== undefined && process.connected) {
      process.send({ type: READY, host: server.host, port: server.port });
    }
    return { stop: () => server.stop() };
  },
}).catch(failedToStart('HeloPass policy server'));
