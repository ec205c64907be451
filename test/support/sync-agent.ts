import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The standalone sync agent that mail hosts install (scripts/bundle-sync-agent.mjs; built by `npm test`'s pretest). */
export const SYNC_AGENT = 'dist/helopass-sync.mjs';

/**
 * Mail hosts run their distribution's Node.js, not the project's Node 24: the
 * agent runs on the machine's /usr/bin/node when there is one (Node 20 here),
 * else on the suite's.
 */
export const AGENT_NODE = existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One run of `helopass-sync <args>` in a child process; resolves with its exit status instead of rejecting. */
export function runSyncAgent(args: string[], env: Record<string, string> = {}, options: { agent?: string; cwd?: string } = {}): Promise<AgentRun> {
  return new Promise((resolve) => {
    execFile(
      AGENT_NODE,
      [options.agent ?? SYNC_AGENT, ...args],
      { env: { ...process.env, ...env }, cwd: options.cwd, timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}
