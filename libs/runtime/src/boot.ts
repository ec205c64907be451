import { ConfigError, loadConfig, resolveLogFormat, type HeloPassConfig } from '@app/config';
import { resolveDatabase, type ResolvedDatabase } from '@app/database';

/** What a process is given once its configuration and database are settled. */
export interface BootContext {
  /** The configuration, DATABASE_URL resolved (an embedded PostgreSQL's, when none was set). */
  readonly config: HeloPassConfig;
  readonly database: ResolvedDatabase;
  /** `json` or `pretty`: how this process writes logs (LOG_FORMAT resolved for its standard output). */
  readonly logFormat: 'json' | 'pretty';
  /** One line for a person, `[<name>] …`, on standard output. */
  say(line: string): void;
  /** Whether a stop was asked for (a signal arrived while starting). */
  stopRequested(): boolean;
  /** Aborted when a stop is asked for: a start-up step that waits may end its wait early. */
  readonly stopSignal: AbortSignal;
}

/** What a started process hands back: how to stop what it started (the database is stopped after it). */
export interface StartedProcess {
  /** Stops in order; a thrown error makes the process exit 1 instead of 0. */
  stop(reason: string): Promise<void>;
}

export interface BootOptions {
  /** `helopass`, `helopass-worker`: the prefix of `say()` lines. */
  readonly name: string;
  /** How messages name the process: `HeloPass`, `HeloPass worker`. */
  readonly title: string;
  /**
   * An embedded PostgreSQL started for this process runs in a process group
   * of its own, so that a terminal's Ctrl-C reaches only this process, which
   * stops it last (never under the feet of its own connections).
   */
  readonly ownProcessGroup?: boolean;
  /** Started by another process over IPC (npm start's worker): stop when that channel closes. */
  readonly stopWithParent?: boolean;
  /** Said once what `start` started has stopped: `API stopped`. */
  readonly stoppedLine?: string;
  /** Say so when an embedded PostgreSQL of this process has stopped. */
  readonly sayDatabaseStopped?: boolean;
  start(context: BootContext): Promise<StartedProcess>;
}

/**
 * How every long-running process starts and stops (the API, the worker, the
 * policy server): configuration (a bad setting stops start-up with one line
 * naming it), the database (DATABASE_URL or the embedded PostgreSQL, and the
 * migrations), signals taken from the very start (a Ctrl-C that comes while
 * the process boots stops it once it has), then a graceful stop: what
 * `start` started, then the embedded PostgreSQL, then exit 0 (1 when a part
 * did not stop cleanly).
 */
export async function bootProcess(options: BootOptions): Promise<void> {
  let config: HeloPassConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${options.title} cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const say = (line: string) => console.log(`[${options.name}] ${line}`);
  const state: { requested?: string; stopping: boolean; stop?: (reason: string) => Promise<void> } = { stopping: false };
  const aborter = new AbortController();
  const onStop = (reason: string) => {
    state.requested ??= reason;
    aborter.abort();
    if (state.stop !== undefined && !state.stopping) {
      state.stopping = true;
      void state.stop(state.requested);
    }
  };
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGTERM', () => onStop('SIGTERM'));
  if (options.stopWithParent === true && process.send !== undefined) {
    process.on('disconnect', () => onStop('the API process went away'));
  }

  const database = await resolveDatabase(config, say, { ownProcessGroup: options.ownProcessGroup ?? false, tolerateOutage: true });
  let started: StartedProcess;
  try {
    started = await options.start({
      config: { ...config, databaseUrl: database.connectionString },
      database,
      logFormat: resolveLogFormat(config.logFormat),
      say,
      stopRequested: () => state.requested !== undefined,
      stopSignal: aborter.signal,
    });
  } catch (error) {
    await database.stop();
    throw error;
  }
  state.stop = async (reason: string) => {
    say(`${reason}: stopping`);
    let code = 0;
    try {
      await started.stop(reason);
      if (options.stoppedLine !== undefined) {
        say(options.stoppedLine);
      }
    } catch (error) {
      console.error(`${options.title} did not stop cleanly:`, error instanceof Error ? error.message : error);
      code = 1;
    }
    await database.stop();
    if (database.embedded && options.sayDatabaseStopped === true) {
      say('embedded PostgreSQL stopped');
    }
    process.exit(code);
  };
  if (state.requested !== undefined) {
    onStop(state.requested);
  }
}

/** The entry point's last word on a failed start: one line, exit 1. */
export function failedToStart(title: string): (error: unknown) => never {
  return (error: unknown) => {
    console.error(`${title} failed to start:`, error instanceof Error ? error.message : error);
    process.exit(1);
  };
}

/**
 * A short-lived command's database (the CLI): DATABASE_URL or the embedded
 * PostgreSQL, for the length of `work`. A Ctrl-C meanwhile stops an embedded
 * PostgreSQL before the process ends (exit 130), so none is left running.
 */
export async function withDatabase<T>(
  config: HeloPassConfig,
  log: (line: string) => void,
  work: (config: HeloPassConfig) => Promise<T>,
): Promise<T> {
  const database = await resolveDatabase(config, log);
  const interrupted = () => {
    void database.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    return await work({ ...config, databaseUrl: database.connectionString });
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await database.stop();
  }
}
