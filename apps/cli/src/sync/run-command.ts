import { spawn, type SpawnOptionsWithStdioTuple } from 'node:child_process';

/** A program with its arguments (no shell), or an operator's command line run by `/bin/sh -c`. */
export type HookCommand = { program: string; args: string[] } | { shell: string };

export interface HookResult {
  ok: boolean;
  /** why it failed (exit status and the tail of its stderr), empty when ok */
  detail: string;
}

export type RunHook = (command: HookCommand, env: Record<string, string>, options: { timeoutMs: number }) => Promise<HookResult>;

export const DEFAULT_HOOK_TIMEOUT_MS = 120_000;
/** After SIGTERM, how long the group has to end before SIGKILL. */
const KILL_GRACE_MS = 5_000;
const STDERR_LIMIT = 4096;

/**
 * Runs a hook with the agent's environment minus the feed key (a reload
 * command has no business seeing it), plus `extra`; never throws.
 *
 * The hook runs in a process group of its own (`detached`: setsid(2)), and a
 * time-out signals the whole group: killing only `/bin/sh` would leave what
 * it started (a `sleep`, a stuck `postfix reload`) running, reparented to
 * init, long after the agent gave up on it. SIGTERM first, SIGKILL after a
 * grace period for whatever ignores it.
 */
export const runHook: RunHook = (command, extra, { timeoutMs }) =>
  new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    delete env.HELOPASS_SYNC_KEY;
    const spawnOptions: SpawnOptionsWithStdioTuple<'ignore', 'ignore', 'pipe'> = { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true };
    const child = 'shell' in command ? spawn(command.shell, { ...spawnOptions, shell: true }) : spawn(command.program, command.args, spawnOptions);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        // A negative pid signals the process group whose id it is (kill(2)).
        process.kill(-child.pid!, signal);
      } catch {
        // ESRCH: the group has ended already.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: error.code === 'ENOENT' ? 'not found on PATH' : error.message });
    });
    // 'close' waits for stderr too, which a process the hook left behind may hold open.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (timedOut) {
        // The shell is gone; whatever it started and that shrugged off SIGTERM goes now.
        signalGroup('SIGKILL');
        resolve({ ok: false, detail: `timed out after ${timeoutMs / 1000}s; its process group was ended` });
        return;
      }
      if (code === 0) {
        resolve({ ok: true, detail: '' });
        return;
      }
      const status = signal ? `killed by ${signal}` : `exit status ${code}`;
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      resolve({ ok: false, detail: tail ? `${status}: ${tail}` : status });
    });
  });
