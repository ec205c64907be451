import type { Server } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * How long a stop lets requests under way finish: under the 10 s that
 * `docker stop` (and most supervisors) give between SIGTERM and SIGKILL.
 */
export const HTTP_DRAIN_MS = 8000;
/** How often a connection whose answer has gone is looked for, to be closed. */
const IDLE_SWEEP_MS = 50;

/**
 * Stops taking connections at once and lets the requests under way finish,
 * before anything they use (the database pool) is shut by the app's own
 * close. Kept-alive connections are closed as soon as they are idle (a feed
 * poller reconnects to another replica) rather than after
 * HTTP_KEEP_ALIVE_TIMEOUT_MS; whatever is still open after `timeoutMs` is cut.
 */
export async function drainHttp(app: NestFastifyApplication, timeoutMs = HTTP_DRAIN_MS): Promise<void> {
  const server = app.getHttpServer() as Server;
  if (!server.listening) {
    return;
  }
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(cut);
  }
}
