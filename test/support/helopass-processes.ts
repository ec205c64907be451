import { spawn, type ChildProcess } from 'node:child_process';
import { ProcessOutput } from './process-output.js';
import { freePort } from './free-port.js';

/** One HeloPass process from dist/ (or another program), its output, and a bounded stop. */
export class SpawnedProcess {
  readonly output: ProcessOutput;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.output = new ProcessOutput(child);
  }

  /** Starts `command args` and waits until its output says `ready` (the process's own start-up line). */
  static async start(
    name: string,
    command: string,
    args: string[],
    env: Record<string, string>,
    ready: (text: string) => boolean,
    timeoutMs = 30_000,
  ): Promise<SpawnedProcess> {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const spawned = new SpawnedProcess(name, child);
    try {
      await spawned.output.waitFor(ready, `${name} said it started`, timeoutMs);
    } catch (error) {
      await spawned.stop();
      throw error;
    }
    return spawned;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with the exit code (null after a signal). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      try {
        return await this.output.exited;
      } finally {
        clearTimeout(killer);
      }
    }
    return this.output.exited;
  }
}

/** The HeloPass processes as `npm start`, `npm run start:policy` and `npm run start:worker` run them. */
export const HELOPASS_MAIN = {
  api: 'dist/apps/api/src/main.js',
  policy: 'dist/apps/policy/src/main.js',
  worker: 'dist/apps/worker/src/main.js',
} as const;

/**
 * An API process on a free loopback port. The API names the port it was given, not the one it
 * bound, so the port is chosen here; taken meanwhile by someone else (EADDRINUSE), another is tried.
 */
export async function startApi(name: string, env: Record<string, string>): Promise<{ process: SpawnedProcess; port: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      const started = await SpawnedProcess.start(
        name,
        process.execPath,
        [HELOPASS_MAIN.api],
        { HOST: '127.0.0.1', PORT: String(port), RUN_WORKER: 'false', RUN_POLICY_SERVER: 'false', MIGRATE_ON_START: 'false', ...env },
        (text) => text.includes('API on '),
      );
      return { process: started, port };
    } catch (error) {
      if (attempt >= 3 || !String((error as Error).message).includes('EADDRINUSE')) {
        throw error;
      }
    }
  }
}

/** A policy server on a port the system picks (POLICY_PORT=0); it says which. */
export async function startPolicy(name: string, env: Record<string, string>): Promise<{ process: SpawnedProcess; port: number }> {
  const started = await SpawnedProcess.start(
    name,
    process.execPath,
    [HELOPASS_MAIN.policy],
    { POLICY_HOST: '127.0.0.1', POLICY_PORT: '0', MIGRATE_ON_START: 'false', ...env },
    (text) => /Postfix policy service on inet:127\.0\.0\.1:\d+/.test(text),
  );
  return { process: started, port: Number(/Postfix policy service on inet:127\.0\.0\.1:(\d+)/.exec(started.output.text)![1]) };
}

export function startWorker(name: string, env: Record<string, string>): Promise<SpawnedProcess> {
  return SpawnedProcess.start(name, process.execPath, [HELOPASS_MAIN.worker], { MIGRATE_ON_START: 'false', ...env }, (text) =>
    /\[helopass-worker\] running as process \d+/.test(text),
  );
}
