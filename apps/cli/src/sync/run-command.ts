import { spawn } from 'node:child_process';

/** A program with its arguments (no shell), or an operator's command line run by `/bin/sh -c`. */
export type HookCommand = { program: string; args: string[] } | { shell: string };

export interface HookResult {
  ok: boolean;
  /** why it failed (exit status and the tail of its stderr), empty when ok */
  detail: string;
}

export type RunHook = (command: HookCommand, env: Record<string, string>) => Promise<HookResult>;

const TIMEOUT_MS = 120_000;
const STDERR_LIMIT = 4096;

/**
 * Runs a hook with the agent's environment minus the feed key (a reload
 * command has no business seeing it), plus `extra`; never throws.
 */
export const runHook: RunHook = (command, extra) =>
  new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    delete env.HELOPASS_SYNC_KEY;
    const child =
      'shell' in command
        ? spawn(command.shell, { shell: true, env, stdio: ['ignore', 'ignore', 'pipe'], timeout: TIMEOUT_MS })
        : spawn(command.program, command.args, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: TIMEOUT_MS });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ ok: false, detail: error.code === 'ENOENT' ? 'not found on PATH' : error.message });
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve({ ok: true, detail: '' });
        return;
      }
      const status = signal ? `killed by ${signal}` : `exit status ${code}`;
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      resolve({ ok: false, detail: tail ? `${status}: ${tail}` : status });
    });
  });
