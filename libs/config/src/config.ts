import { API_KEY_MAX_LENGTH, API_KEY_MIN_LENGTH, isWellFormedApiKey } from '@app/domain';

/** A bad setting; start-up stops with this message, which names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface HeloPassConfig {
  /** PostgreSQL connection string; absent means "start the embedded PostgreSQL". */
  readonly databaseUrl: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** Registered as an admin key at start-up when no active admin key exists. */
  readonly bootstrapAdminKey: string | undefined;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** Where the embedded PostgreSQL keeps its data. */
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  /** Apply pending migrations when a process starts. */
  readonly migrateOnStart: boolean;
  /** How long an Idempotency-Key is remembered. */
  readonly idempotencyRetentionHours: number;
}

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) {
    return fallback;
  }
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}`);
  }
  return Number(raw);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) {
    return fallback;
  }
  if (['true', '1', 'yes'].includes(raw.toLowerCase())) {
    return true;
  }
  if (['false', '0', 'no'].includes(raw.toLowerCase())) {
    return false;
  }
  throw new ConfigError(`${name} must be true or false`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = optional(env, name);
  if (raw === undefined) {
    return fallback;
  }
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

function databaseUrl(env: Env, name: string): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a postgres:// or postgresql:// URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${name} must be a postgres:// or postgresql:// URL`);
  }
  return raw;
}

/** Reads and validates every setting at once; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): HeloPassConfig {
  const bootstrapAdminKey = optional(env, 'BOOTSTRAP_ADMIN_KEY');
  if (bootstrapAdminKey !== undefined && !isWellFormedApiKey(bootstrapAdminKey)) {
    // The value itself is a secret: never repeat it.
    throw new ConfigError(
      `BOOTSTRAP_ADMIN_KEY must be ${API_KEY_MIN_LENGTH}–${API_KEY_MAX_LENGTH} characters of A–Z, a–z, 0–9, "_" and "-"`,
    );
  }
  return {
    databaseUrl: databaseUrl(env, 'DATABASE_URL'),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    bootstrapAdminKey,
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    dataDir: optional(env, 'DATA_DIR') ?? '.data',
    embeddedPostgresPort: integer(env, 'EMBEDDED_POSTGRES_PORT', 54329, 1024, 65535),
    migrateOnStart: boolean(env, 'MIGRATE_ON_START', true),
    idempotencyRetentionHours: integer(env, 'IDEMPOTENCY_RETENTION_HOURS', 24, 1, 24 * 30),
  };
}
