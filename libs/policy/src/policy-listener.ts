import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hostAndPort } from '@app/domain';
import { MalformedPolicyRequest, POLICY_DUNNO, POLICY_OK, PolicyRequestReader, type PolicyRequest } from './protocol.js';

export interface PolicyListenerLimits {
  /** Largest request (all its lines), in bytes; a longer one is malformed. */
  maxRequestBytes: number;
  /** Connections open at once; more are closed at once by the kernel-facing side. */
  maxConnections: number;
  /** A connection with no request under way is closed after this long. */
  idleTimeoutMs: number;
  /** A request begun must end within this long, however slowly its bytes come. */
  requestTimeoutMs: number;
}

export interface PolicyListenerEvents {
  /** A request that could not be read; the connection is closed without an answer. */
  malformed(remote: string, reason: string): void;
  /** A connection refused because `maxConnections` are open. */
  refused(remote: string): void;
}

/**
 * Unread answers a client may leave behind before the server stops reading
 * its requests: a client that pipelines without reading costs this much at
 * most, then waits for its own socket to drain.
 */
const MAX_UNREAD_ANSWER_BYTES = 64 * 1024;
/** After a malformed request, how long the client gets to close before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** On stop, how long a request under way gets to be finished by its client before its connection is cut. */
const DRAIN_MS = 5000;

const remoteOf = (socket: Socket) =>
  socket.remoteAddress === undefined ? 'unknown' : hostAndPort(socket.remoteAddress, socket.remotePort ?? '?');

/**
 * The TCP side of the policy server: persistent connections, pipelined
 * requests answered in order (all answers to one packet in one write), and
 * every cost bounded per connection — one unfinished request of at most
 * `maxRequestBytes`, a deadline for it, an idle timeout, a cap on unread
 * answers — and in total by `maxConnections`.
 */
export class PolicyListener {
  private readonly server: Server;
  /** Each open connection, and how to end it once no request is under way on it. */
  private readonly sockets = new Map<Socket, () => void>();
  private draining = false;

  constructor(
    private readonly decide: (request: PolicyRequest) => boolean,
    private readonly limits: PolicyListenerLimits,
    private readonly events: PolicyListenerEvents,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => this.serve(socket));
    this.server.maxConnections = limits.maxConnections;
    this.server.on('drop', (data) => this.events.refused(data?.remoteAddress === undefined ? 'unknown' : `${data.remoteAddress}:${data.remotePort}`));
  }

  /** Listens on `host:port` (port 0: any free port); resolves with the address taken. */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog: 511 }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Connections open now. */
  get connections(): number {
    return this.sockets.size;
  }

  /**
   * Stops accepting, then drains: every request a client has sent is
   * answered (one under way gets DRAIN_MS to be finished), after which its
   * connection is closed (Postfix reconnects to whichever server answers).
   * Resolves once every connection is closed.
   */
  async close(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // One turn of the event loop first: requests already in the sockets' buffers are read and answered.
    setImmediate(() => {
      for (const endWhenIdle of this.sockets.values()) {
        endWhenIdle();
      }
    });
    const cut = setTimeout(() => {
      for (const socket of this.sockets.keys()) {
        socket.destroy();
      }
    }, DRAIN_MS);
    await closed;
    clearTimeout(cut);
  }

  private serve(socket: Socket): void {
    const reader = new PolicyRequestReader(this.limits.maxRequestBytes);
    let requestTimer: NodeJS.Timeout | undefined;
    let closing = false;
    /** Ends the connection after `answers` (the last ones), and cuts it if the client does not close in turn. */
    const finish = (answers: string) => {
      closing = true;
      clearTimeout(requestTimer);
      socket.end(answers, 'latin1');
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    };
    this.sockets.set(socket, () => {
      if (!closing && !reader.partial) {
        finish('');
      }
    });
    if (this.draining) {
      finish(''); // accepted just as the stop began
    }
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy()); // a reset mid-request: nothing to answer, nothing to keep
    socket.on('close', () => {
      clearTimeout(requestTimer);
      this.sockets.delete(socket);
    });
    socket.on('drain', () => socket.resume());
    socket.on('data', (chunk: Buffer) => {
      if (closing) {
        return;
      }
      let answers = '';
      let answered = 0;
      try {
        reader.push(chunk, (request) => {
          answers += this.decide(request) ? POLICY_OK : POLICY_DUNNO;
          answered++;
        });
      } catch (error) {
        if (!(error instanceof MalformedPolicyRequest)) {
          throw error;
        }
        // The requests before the bad one are answered; then no more.
        this.events.malformed(remoteOf(socket), error.message);
        // Whatever follows is read and dropped, so that the client's own close is seen at once.
        finish(answers);
        return;
      }
      if (this.draining && !reader.partial) {
        finish(answers); // stopping: what was asked is answered, and nothing more is taken
        return;
      }
      if (answers.length > 0 && !socket.write(answers, 'latin1') && socket.writableLength > MAX_UNREAD_ANSWER_BYTES) {
        socket.pause(); // resumed on 'drain'
      }
      if (answered > 0 && requestTimer !== undefined) {
        clearTimeout(requestTimer); // the request it timed has ended; an unfinished one is the next
        requestTimer = undefined;
      }
      if (reader.partial) {
        requestTimer ??= setTimeout(() => {
          this.events.malformed(remoteOf(socket), `a request not finished within ${this.limits.requestTimeoutMs} ms`);
          socket.destroy();
        }, this.limits.requestTimeoutMs);
      } else if (requestTimer !== undefined) {
        clearTimeout(requestTimer);
        requestTimer = undefined;
      }
    });
  }
}
