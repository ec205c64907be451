import { connect, type Socket } from 'node:net';

/** A request as Postfix 3.x sends it at the HELO stage (fields of SMTPD_POLICY_README), ended by the empty line. */
export function policyRequest(helo: string, address: string, extra: Record<string, string> = {}): string {
  const attributes: Record<string, string> = {
    request: 'smtpd_access_policy',
    protocol_state: 'HELO',
    protocol_name: 'ESMTP',
    helo_name: helo,
    queue_id: '',
    sender: '',
    recipient: '',
    recipient_count: '0',
    client_address: address,
    client_name: 'unknown',
    reverse_client_name: 'unknown',
    instance: 'a1b2.6751a6b2.9f3c0.0',
    sasl_method: '',
    sasl_username: '',
    ccert_subject: '',
    size: '0',
    server_address: '127.0.0.1',
    server_port: '25',
    ...extra,
  };
  return `${Object.entries(attributes)
    .map(([name, value]) => `${name}=${value}`)
    .join('\n')}\n\n`;
}

/**
 * One client connection to a policy server: sends raw bytes, reads answers
 * (`action=…` lines, each ended by its empty line), and tells when the server
 * closed the connection.
 */
export class PolicyConnection {
  private received = '';
  private waiters = new Set<() => void>();
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString('latin1');
      this.notify();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.notify();
        resolve();
      }),
    );
  }

  static open(port: number, host = '127.0.0.1'): Promise<PolicyConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => {
        socket.off('error', reject);
        resolve(new PolicyConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Everything the server sent so far. */
  get text(): string {
    return this.received;
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Sends one request and resolves with its action (`OK`, `DUNNO`). */
  async ask(helo: string, address: string, extra: Record<string, string> = {}): Promise<string> {
    const before = this.answers().length;
    this.send(policyRequest(helo, address, extra));
    return (await this.answersAtLeast(before + 1))[before]!;
  }

  /** The actions answered so far, in order. */
  answers(): string[] {
    return [...this.received.matchAll(/action=([^\n]*)\n\n/g)].map((match) => match[1]!);
  }

  /** Waits until `count` answers have come (fails if the connection closes first or after `timeoutMs`). */
  answersAtLeast(count: number, timeoutMs = 5000): Promise<string[]> {
    return this.until(() => this.answers().length >= count, `${count} answers`, timeoutMs).then(() => this.answers());
  }

  /** Waits until the server has closed the connection. */
  untilClosed(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.ended, 'the server to close the connection', timeoutMs, true);
  }

  close(): void {
    this.socket.destroy();
  }

  private until(holds: () => boolean, what: string, timeoutMs: number, closeIsFine = false): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (holds()) {
          done();
          resolve();
        } else if (this.ended && !closeIsFine) {
          done();
          reject(new Error(`connection closed while waiting for ${what}; received: ${JSON.stringify(this.received)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; received: ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      waiter();
    }
  }
}
