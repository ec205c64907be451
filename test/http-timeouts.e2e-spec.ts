import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';

/** Everything the server sent until it closed the connection. */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    socket.on('close', () => resolve(received));
  });
}

describe('HTTP connection limits', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000', HTTP_CONNECTION_TIMEOUT_MS: '1500', HTTP_REQUEST_TIMEOUT_MS: '5000' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('are set on the server', () => {
    const server = t.app.getHttpServer();
    expect({ keepAlive: server.keepAliveTimeout, request: server.requestTimeout, idle: server.timeout }).toEqual({
      keepAlive: 1000,
      request: 5000,
      idle: 1500,
    });
  });

  it('closes a connection that sends half a request and then nothing', async () => {
    const socket = connect(port, '127.0.0.1');
    const closed = untilClosed(socket);
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it('serves requests on a kept-alive connection, then closes it once idle', async () => {
    const socket = connect(port, '127.0.0.1');
    const closed = untilClosed(socket);
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    const received = await closed;
    expect(received.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(received).toMatch(/keep-alive: timeout=1/i);
  });
});
