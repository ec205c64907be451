import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The worker's entry point in the build, beside this app's:
 * dist/apps/worker/src/main.js. A file to run, never a module to import:
 * no app imports another app's code.
 */
export const WORKER_ENTRY = fileURLToPath(new URL('../../worker/src/main.js', import.meta.url));

/** What the worker sends over the IPC channel once it runs (see apps/worker/src/main.ts). */
export const WORKER_READY = 'helopass-worker-ready';

/** The policy server's entry point in the build (dist/apps/policy/src/main.js), run the same way as the worker. */
export const POLICY_ENTRY = fileURLToPath(new URL('../../policy/src/main.js', import.meta.url));

/** What the policy server sends once it listens (see apps/policy/src/main.ts), with `host` and `port`. */
export const POLICY_READY = 'helopass-policy-ready';

export interface SupervisedProcessOptions {
  /** The worker's environment: DATABASE_URL resolved, so it never starts a database of its own. */
  env: NodeJS.ProcessEnv;
  say: (line: string) => void;
  entry?: string;
  /** First wait before restarting a worker that died; doubles up to `maxRestartDelayMs`. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** A worker that ran this long before dying starts again after `restartDelayMs`, not the doubled wait. */
  healthyAfterMs?: number;
  /** How long a stopping worker may take (pg-boss lets a running sweep finish) before it is killed. */
  stopTimeoutMs?: number;
  /** How lines name the child (`worker`; `policy server` for the policy server, run the same way). */
  label?: string;
  /** The IPC message type the child sends once it runs. */
  readyType?: string;
  /** What the child does, said once it is ready, from its ready message: `(DNS checks, …)`. */
  describe?: (ready: Record<string, unknown>) => string;
}

/**
 * A child process `npm start` runs and keeps running: the worker and the
 * policy server (each with its own entry, label and ready message).
 *
 * `npm start` runs the worker as a process of its own, so that its DNS work
 * and sweeps never share an event loop (or a crash) with the API that serves
 * the feed. A worker that dies is reported and started again with backoff
 * (1 s, 2 s, 4 s … at most a minute): the API keeps serving the feed, which
 * mail filters depend on, and the worker's jobs are safe to run again
 * (pg-boss hands a sweep to one worker at a time). Stopping stops the worker
 * first and waits for it.
 *
 * The worker gets a process group of its own, so a Ctrl-C at the terminal
 * reaches only the API, which stops the worker in order; if the API process
 * vanishes without stopping it, the worker sees its IPC channel close and
 * stops by itself.
 */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private delayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private settleFirstStart: () => void = () => undefined;
  private readonly firstStart = new Promise<void>((resolve) => (this.settleFirstStart = resolve));
  private readonly entry: string;
  private readonly restartDelayMs: number;
  private readonly maxRestartDelayMs: number;
  private readonly healthyAfterMs: number;
  private readonly stopTimeoutMs: number;
  private readonly label: string;

  constructor(private readonly options: SupervisedProcessOptions) {
    this.entry = options.entry ?? WORKER_ENTRY;
    this.restartDelayMs = options.restartDelayMs ?? 1000;
    this.maxRestartDelayMs = options.maxRestartDelayMs ?? 60_000;
    this.healthyAfterMs = options.healthyAfterMs ?? 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
    this.label = options.label ?? 'worker';
    this.delayMs = this.restartDelayMs;
  }

  /** Starts the worker; "worker running as process N" is said once it reports ready. */
  start(): void {
    if (!existsSync(this.entry)) {
      throw new Error(`the ${this.label} is not built (${this.entry} is missing); run npm run build`);
    }
    this.spawn();
  }

  /**
   * Resolves once the first worker has reported ready, or has died (its
   * restart is then under way and reported), or after `timeoutMs`: what
   * `npm start` waits for before it prints its last lines, so that they
   * stay last.
   */
  async started(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.firstStart, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Stops the worker and waits for it to exit (killing it after stopTimeoutMs). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.options.say(`${this.label} (process ${child.pid}) did not stop within ${this.stopTimeoutMs / 1000} s; killing it`);
      child.kill('SIGKILL');
    }, this.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
    this.options.say(`${this.label} stopped (process ${child.pid})`);
  }

  private spawn(): void {
    const child = fork(this.entry, [], { env: this.options.env, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    this.startedAt = Date.now();
    child.on('message', (message: unknown) => {
      const ready = message as Record<string, unknown> | null;
      if (ready?.type === (this.options.readyType ?? WORKER_READY)) {
        const what = this.options.describe?.(ready) ?? 'DNS checks, re-checks, ownership evidence';
        this.options.say(`${this.label} running as process ${child.pid} (${what})`);
        this.settleFirstStart();
      }
    });
    child.on('error', (error) => this.options.say(`${this.label} (process ${child.pid ?? '?'}) error: ${error.message}`));
    child.on('exit', (code, signal) => {
      this.settleFirstStart();
      if (this.stopping || this.child !== child) {
        return;
      }
      this.child = undefined;
      if (Date.now() - this.startedAt >= this.healthyAfterMs) {
        this.delayMs = this.restartDelayMs;
      }
      const how = signal !== null ? `signal ${signal}` : `code ${code}`;
      this.options.say(`${this.label} (process ${child.pid}) exited unexpectedly (${how}); restarting in ${this.delayMs / 1000} s`);
      this.restartTimer = setTimeout(() => this.spawn(), this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, this.maxRestartDelayMs);
    });
  }
}
