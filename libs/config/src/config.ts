import { createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import {
  API_KEY_MAX_LENGTH,
  DEFAULT_DNS_CANARY_NAME,
  parseBlocklistZones,
  parseResolverList,
  type BlocklistZone,
  API_KEY_MIN_LENGTH,
  InvalidHostnameError,
  InvalidOwnerError,
  isWellFormedApiKey,
  normalizeHeloHostname,
  normalizeOwner,
  parseEd25519PrivateKey,
} from '@app/domain';

import { boolean, ConfigError, integer, oneOf, optional, type Env } from './env.js';
import { notifications, type NotificationsConfig } from './notifications-config.js';
import { policyServer, type PolicyServerConfig } from './policy-config.js';
import { consoleConfig, type ConsoleConfig } from './console-config.js';
import { metricsConfig, type MetricsConfig } from './metrics-config.js';

export { ConfigError } from './env.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** `auto`: readable lines when standard output is a terminal, JSON lines otherwise. */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface HeloPassConfig {
  /** PostgreSQL connection string; absent means "start the embedded PostgreSQL". */
  readonly databaseUrl: string | undefined;
  /**
   * The schema owner's connection, for migrations (MIGRATION_DATABASE_URL;
   * DATABASE_URL when unset). The migrations grant DATABASE_URL's role only
   * what the running services need: it cannot rewrite the audit trail.
   */
  readonly migrationDatabaseUrl: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Registered as an admin key at start-up when no active admin key exists. */
  readonly bootstrapAdminKey: string | undefined;
  /** The owner (person) of the bootstrap admin key, normalized. */
  readonly bootstrapAdminOwner: string;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** Where the embedded PostgreSQL keeps its data. */
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  /** Apply pending migrations when a process starts. */
  readonly migrateOnStart: boolean;
  /** How long an Idempotency-Key is remembered. */
  readonly idempotencyRetentionHours: number;
  readonly ownership: OwnershipConfig;
  readonly dns: DnsConfig;
  readonly dnsCheck: DnsCheckConfig;
  readonly dnsCanary: DnsCanaryConfig;
  /** Run the worker (DNS checks, re-checks, transitions) inside `npm start`. */
  readonly runWorker: boolean;
  /**
   * Seconds between a worker's heartbeats on a running job (pg-boss): a job
   * whose worker died is retried once a heartbeat is missed, not after
   * pg-boss's 15-minute expiry. Missed heartbeats are looked for as often.
   */
  readonly jobHeartbeatSeconds: number;
  readonly exceptions: ExceptionRulesConfig;
  readonly feed: FeedConfig;
  readonly snapshot: SnapshotConfig;
  /** Signed checkpoints of the audit chain. */
  readonly audit: AuditConfig;
  /** NODE_ENV=production: no generated feed key unless allowed, no generated admin key. */
  readonly production: boolean;
  readonly retention: RetentionConfig;
  readonly blocklists: BlocklistConfig;
  readonly database: DatabaseLimitsConfig;
  readonly http: HttpLimitsConfig;
  readonly rateLimits: RateLimitsConfig;
  /** Webhooks, e-mail to technical contacts, reminders and the stale-exception policy. */
  readonly notifications: NotificationsConfig;
  /** Exceptions that retire themselves once the HELO name passes Postfix's checks. */
  readonly selfHealing: SelfHealingConfig;
  /** The Postfix policy server (POLICY_*). */
  readonly policy: PolicyServerConfig;
  /** The web console's sessions and the public self-check. */
  readonly console: ConsoleConfig;
  /** Prometheus metrics listeners (METRICS_HOST, METRICS_PORT, POLICY_METRICS_PORT, WORKER_METRICS_PORT). */
  readonly metrics: MetricsConfig;
}

export interface SelfHealingConfig {
  /** Days an exception stays after its HELO name is seen to pass, before the worker revokes it. */
  readonly graceDays: number;
  /** How often the worker looks each running exception's HELO name up. */
  readonly checkIntervalHours: number;
}

/** How long the worker keeps records that would otherwise grow without end. */
export interface RetentionConfig {
  /** Domain checks older than this are purged (each domain's latest few are always kept). */
  readonly domainCheckDays: number;
  /** The most checks kept per domain; older ones beyond it are purged whatever their age. */
  readonly domainCheckHistoryMax: number;
}

/** How long the app waits on PostgreSQL before it gives up and answers 503. */
export interface DatabaseLimitsConfig {
  /** Opening a connection, or waiting for a free one in the pool. */
  readonly connectTimeoutMs: number;
  /** One statement; the server cancels it after this (SQLSTATE 57014). */
  readonly statementTimeoutMs: number;
  /** Waiting for a row or table lock (SQLSTATE 55P03). */
  readonly lockTimeoutMs: number;
  /** A session left idle inside an open transaction is ended by the server. */
  readonly idleInTransactionTimeoutMs: number;
  /** The `Retry-After` of a 503 answered while the database is unavailable. */
  readonly retryAfterSeconds: number;
}

export interface HttpLimitsConfig {
  /** A connection with no traffic in either direction for this long is closed. */
  readonly connectionTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this. */
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
}

export interface RateLimitsConfig {
  /** Requests per minute per API key (and per client address for requests without a key). */
  readonly perMinute: number;
  /** Requests per minute per API key to the allowlist feed. */
  readonly feedPerMinute: number;
  /** Failed authentications per minute per client address; beyond, 429 before the key is looked at. */
  readonly authFailuresPerMinute: number;
  /** Proxies whose X-Forwarded-For is believed: addresses and CIDR prefixes. Empty: none. */
  readonly trustedProxies: string[];
}

/** DNS blocklists a mail server must not be on (issue: "not used for illegitimate email"). */
export interface BlocklistConfig {
  /** Zones asked about the server's addresses (`DNSBL_ZONES`); none with `domainZones` empty: the check is off. */
  readonly addressZones: readonly BlocklistZone[];
  /** Zones asked about the HELO name (`DNSBL_DOMAIN_ZONES`). */
  readonly domainZones: readonly BlocklistZone[];
  /** IPv4 prefixes of at most this many addresses are looked up address by address; wider ones at their network address. */
  readonly maxAddresses: number;
  /** How often running exceptions are looked up again. */
  readonly recheckIntervalMinutes: number;
}

export interface FeedConfig {
  /** How often each process checks the allowlist version (a safety net for lost NOTIFYs). */
  readonly pollSeconds: number;
  /** Ed25519 key that signs the renderings; absent: one is generated and kept in the database. */
  readonly signingKey: string | undefined;
  /** Whether a generated key may be kept in the database when signingKey is absent (not by default in production). */
  readonly signingKeyInDatabase: boolean;
  /** FEED_SIGNING_KEY_NEXT: the key that will sign after the next rotation, published beside the current one meanwhile. */
  readonly nextSigningKey: string | undefined;
  /** Changes arriving closer together than this are applied in one swap. */
  readonly coalesceMs: number;
  /** How often memory is compared with the database by digest (drift is an anomaly, repaired by a full load). */
  readonly digestSeconds: number;
  /** How long the change log keeps a version's changes (clients further behind fetch in full). */
  readonly changeLogRetentionHours: number;
}

/** The last good allowlist kept on disk, served by a process that starts while the database is unreachable. */
export interface SnapshotConfig {
  /** Where it is kept (SNAPSHOT_DIR, default `<DATA_DIR>/snapshot`); null: not kept (SNAPSHOT_DIR=off). */
  readonly dir: string | null;
  /** At most one write this often; changes in between are written together, once quiet or at the latest after this. */
  readonly writeSeconds: number;
}

export interface ExceptionRulesConfig {
  /** Duration of a grant that names no expiry. */
  readonly defaultDays: number;
  /** The longest any exception may run (from now). */
  readonly maxDays: number;
  /** Grants running longer than this need a second person's approval. */
  readonly approvalDays: number;
  /** Prefixes wider than these need a second person's approval. */
  readonly approvalPrefixV4: number;
  readonly approvalPrefixV6: number;
}

export interface DnsConfig {
  /** `host` or `host:port` entries; empty means the system's resolvers. */
  readonly resolvers: string[];
  readonly timeoutMs: number;
  readonly tries: number;
}

/** Bounds on one DNS check (an ownership check, a challenge look, a diagnosis): DESIGN.md, Ownership §7. */
export interface DnsCheckConfig {
  /** The longest one check may take, all its lookups together; past it, the check ends as "could not tell". */
  readonly deadlineMs: number;
}

/** Our resolvers' sanity check: each must find this name before its "no such name" counts against a customer. */
export interface DnsCanaryConfig {
  /** A name that always exists in the public DNS, with an A record (DNS_CANARY_NAME). */
  readonly name: string;
}

export interface OwnershipConfig {
  /** The label in `_<provider>-challenge.<domain>` and `<provider>-verification=<token>`. */
  readonly provider: string;
  /** How long a challenge stays valid. */
  readonly challengeTtlHours: number;
  /** How often verified domains are re-checked. */
  readonly recheckIntervalHours: number;
  /** Consecutive failed re-checks before a domain lapses… */
  readonly lapseFailures: number;
  /** …spread over at least this long. */
  readonly lapseGraceHours: number;
  /** First retry delay of a pending domain whose DNS could not be read (doubles each time, capped at 6 h). */
  readonly retryBaseSeconds: number;
}

function resolverList(env: Env, name: string): string[] {
  try {
    return parseResolverList(optional(env, name) ?? '');
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

function canaryName(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) {
    return DEFAULT_DNS_CANARY_NAME;
  }
  try {
    return normalizeHeloHostname(value);
  } catch (error) {
    if (error instanceof InvalidHostnameError) {
      throw new ConfigError(`${name} must be a DNS name that always exists (like ${DEFAULT_DNS_CANARY_NAME}): it ${error.message}`);
    }
    throw error;
  }
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

/** MIGRATION_DATABASE_URL, defaulting to DATABASE_URL; meaningless without DATABASE_URL (the embedded PostgreSQL has both roles). */
function migrationDatabaseUrl(env: Env): string | undefined {
  const runtime = databaseUrl(env, 'DATABASE_URL');
  const owner = databaseUrl(env, 'MIGRATION_DATABASE_URL');
  if (owner !== undefined && runtime === undefined) {
    throw new ConfigError('MIGRATION_DATABASE_URL needs DATABASE_URL (the running services\' connection) as well');
  }
  return owner ?? runtime;
}

function provider(env: Env, name: string): string {
  const raw = optional(env, name) ?? 'mailmax';
  // It becomes a DNS label (`_mailmax-challenge`) and a TXT value prefix.
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(raw)) {
    throw new ConfigError(`${name} must be 1–40 lowercase letters, digits or inner hyphens`);
  }
  return raw;
}

function exceptionRules(env: Env): ExceptionRulesConfig {
  const maxDays = integer(env, 'EXCEPTION_MAX_DAYS', 365, 1, 3650);
  const defaultDays = integer(env, 'EXCEPTION_DEFAULT_DAYS', Math.min(90, maxDays), 1, 3650);
  if (defaultDays > maxDays) {
    throw new ConfigError('EXCEPTION_DEFAULT_DAYS must not exceed EXCEPTION_MAX_DAYS');
  }
  return {
    defaultDays,
    maxDays,
    approvalDays: integer(env, 'EXCEPTION_APPROVAL_DAYS', 90, 1, 3650),
    approvalPrefixV4: integer(env, 'EXCEPTION_APPROVAL_PREFIX_V4', 24, 0, 32),
    approvalPrefixV6: integer(env, 'EXCEPTION_APPROVAL_PREFIX_V6', 48, 0, 128),
  };
}

export interface AuditConfig {
  /** AUDIT_SIGNING_KEY: base64 Ed25519 seed or PKCS#8 PEM (its own, never the feed's). */
  readonly signingKey: string | undefined;
  /** Whether a generated key may be kept in the database when signingKey is absent (not by default in production). */
  readonly signingKeyInDatabase: boolean;
  /** Minutes between the worker's checkpoints (0: on demand only). */
  readonly checkpointIntervalMinutes: number;
  /** A file every checkpoint is appended to, one JSON line each. */
  readonly checkpointFile: string | undefined;
  /** An HTTP(S) endpoint every checkpoint is POSTed to as JSON. */
  readonly checkpointUrl: string | undefined;
  /** Minutes between the worker's snapshots of the allowlist's history, which `?asOf=` starts from. */
  readonly stateSnapshotIntervalMinutes: number;
}

/**
 * A signing key setting (`<NAME>` and `<NAME>_IN_DATABASE`): the key, or
 * leave to keep a generated one in the database — not by default in
 * production, since a key in the database is readable by anyone who can
 * read a backup.
 */
function signingKeySetting(env: Env, name: string, production: boolean): { signingKey: string | undefined; signingKeyInDatabase: boolean } {
  const signingKey = optional(env, name);
  const signingKeyInDatabase = boolean(env, `${name}_IN_DATABASE`, !production);
  if (signingKey === undefined && !signingKeyInDatabase) {
    throw new ConfigError(
      production
        ? `${name} must be set when NODE_ENV=production (or set ${name}_IN_DATABASE=true to keep a generated key in the database)`
        : `${name} must be set when ${name}_IN_DATABASE=false`,
    );
  }
  return { signingKey, signingKeyInDatabase };
}

function audit(env: Env, production: boolean): AuditConfig {
  const { signingKey, signingKeyInDatabase } = signingKeySetting(env, 'AUDIT_SIGNING_KEY', production);
  if (signingKey !== undefined) {
    try {
      parseEd25519PrivateKey(signingKey, 'AUDIT_SIGNING_KEY');
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (signingKey === optional(env, 'FEED_SIGNING_KEY') || signingKey === optional(env, 'FEED_SIGNING_KEY_NEXT')) {
      throw new ConfigError('AUDIT_SIGNING_KEY must differ from FEED_SIGNING_KEY and FEED_SIGNING_KEY_NEXT: the audit trail has a key of its own');
    }
  }
  const checkpointUrl = optional(env, 'AUDIT_CHECKPOINT_URL');
  if (checkpointUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(checkpointUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new ConfigError('AUDIT_CHECKPOINT_URL must be an http:// or https:// URL');
    }
  }
  return {
    signingKey,
    signingKeyInDatabase,
    checkpointIntervalMinutes: integer(env, 'AUDIT_CHECKPOINT_INTERVAL_MINUTES', 60, 0, 7 * 24 * 60),
    checkpointFile: optional(env, 'AUDIT_CHECKPOINT_FILE'),
    checkpointUrl,
    stateSnapshotIntervalMinutes: integer(env, 'AUDIT_STATE_SNAPSHOT_INTERVAL_MINUTES', 60, 1, 7 * 24 * 60),
  };
}

/** Whether the setting `other` holds the private key `key` (a setting that does not parse is no match: its own check reports it). */
function sameKey(key: KeyObject, other: string): boolean {
  try {
    const publicDer = (k: KeyObject) => createPublicKey(k).export({ format: 'der', type: 'spki' });
    return publicDer(parseEd25519PrivateKey(other, 'other')).equals(publicDer(key));
  } catch {
    return false;
  }
}

function feed(env: Env, production: boolean): FeedConfig {
  const { signingKey, signingKeyInDatabase } = signingKeySetting(env, 'FEED_SIGNING_KEY', production);
  const nextSigningKey = optional(env, 'FEED_SIGNING_KEY_NEXT');
  if (nextSigningKey !== undefined) {
    let next: KeyObject;
    try {
      next = parseEd25519PrivateKey(nextSigningKey, 'FEED_SIGNING_KEY_NEXT');
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    // Compared as keys, not as text: the same key as PEM and as base64 is no rotation.
    if (signingKey !== undefined && sameKey(next, signingKey)) {
      throw new ConfigError('FEED_SIGNING_KEY_NEXT must differ from FEED_SIGNING_KEY: it is the key that signs after the rotation');
    }
  }
  return {
    pollSeconds: integer(env, 'FEED_POLL_SECONDS', 5, 1, 3600),
    signingKey,
    signingKeyInDatabase,
    nextSigningKey,
    coalesceMs: integer(env, 'FEED_COALESCE_MS', 100, 0, 10_000),
    digestSeconds: integer(env, 'FEED_DIGEST_SECONDS', 600, 10, 86_400),
    changeLogRetentionHours: integer(env, 'FEED_CHANGE_LOG_RETENTION_HOURS', 168, 1, 87_600),
  };
}

function snapshot(env: Env): SnapshotConfig {
  const setting = optional(env, 'SNAPSHOT_DIR');
  return {
    dir: setting === 'off' ? null : (setting ?? join(optional(env, 'DATA_DIR') ?? '.data', 'snapshot')),
    writeSeconds: integer(env, 'SNAPSHOT_WRITE_SECONDS', 2, 0, 3600),
  };
}

function addressList(env: Env, name: string): string[] {
  const entries = (optional(env, name) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  for (const entry of entries) {
    if (!ipaddr.isValid(entry) && !ipaddr.isValidCIDR(entry)) {
      throw new ConfigError(`${name} must be a comma-separated list of IP addresses and CIDR prefixes`);
    }
  }
  return entries;
}

function databaseLimits(env: Env): DatabaseLimitsConfig {
  return {
    connectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 5000, 100, 120_000),
    statementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 30_000, 100, 3_600_000),
    lockTimeoutMs: integer(env, 'DB_LOCK_TIMEOUT_MS', 10_000, 100, 3_600_000),
    idleInTransactionTimeoutMs: integer(env, 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 60_000, 1000, 3_600_000),
    retryAfterSeconds: integer(env, 'DB_RETRY_AFTER_SECONDS', 5, 1, 600),
  };
}

function httpLimits(env: Env): HttpLimitsConfig {
  const keepAliveTimeoutMs = integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1000, 3_600_000);
  const connectionTimeoutMs = integer(env, 'HTTP_CONNECTION_TIMEOUT_MS', 120_000, 1000, 3_600_000);
  if (connectionTimeoutMs <= keepAliveTimeoutMs) {
    // Otherwise an idle kept-alive connection (a feed poller between polls) is cut by the wrong timer.
    throw new ConfigError('HTTP_CONNECTION_TIMEOUT_MS must be longer than HTTP_KEEP_ALIVE_TIMEOUT_MS');
  }
  return {
    connectionTimeoutMs,
    requestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    keepAliveTimeoutMs,
  };
}

function rateLimits(env: Env): RateLimitsConfig {
  return {
    perMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    feedPerMinute: integer(env, 'RATE_LIMIT_FEED_PER_MINUTE', 1200, 1, 1_000_000),
    authFailuresPerMinute: integer(env, 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 20, 1, 1_000_000),
    trustedProxies: addressList(env, 'TRUSTED_PROXIES'),
  };
}

function owner(env: Env, name: string, fallback: string): string {
  try {
    return normalizeOwner(optional(env, name) ?? fallback);
  } catch (error) {
    throw error instanceof InvalidOwnerError ? new ConfigError(`${name} ${error.message}`) : error;
  }
}

function blocklistZones(env: Env, name: string): BlocklistZone[] {
  try {
    return parseBlocklistZones(optional(env, name) ?? '');
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

function blocklists(env: Env): BlocklistConfig {
  return {
    addressZones: blocklistZones(env, 'DNSBL_ZONES'),
    domainZones: blocklistZones(env, 'DNSBL_DOMAIN_ZONES'),
    // 65,536: a whole /16, the widest IPv4 prefix a mail server may hold.
    maxAddresses: integer(env, 'DNSBL_MAX_ADDRESSES', 256, 1, 65_536),
    recheckIntervalMinutes: integer(env, 'BLOCKLIST_RECHECK_INTERVAL_MINUTES', 60, 1, 7 * 24 * 60),
  };
}

/** Reads and validates every setting at once; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): HeloPassConfig {
  const production = optional(env, 'NODE_ENV') === 'production';
  const bootstrapAdminKey = optional(env, 'BOOTSTRAP_ADMIN_KEY');
  if (bootstrapAdminKey !== undefined && !isWellFormedApiKey(bootstrapAdminKey)) {
    // The value itself is a secret: never repeat it.
    throw new ConfigError(
      `BOOTSTRAP_ADMIN_KEY must be ${API_KEY_MIN_LENGTH}–${API_KEY_MAX_LENGTH} characters of A–Z, a–z, 0–9, "_" and "-"`,
    );
  }
  return {
    databaseUrl: databaseUrl(env, 'DATABASE_URL'),
    migrationDatabaseUrl: migrationDatabaseUrl(env),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    logFormat: oneOf(env, 'LOG_FORMAT', ['auto', 'json', 'pretty'], 'auto'),
    bootstrapAdminKey,
    production,
    bootstrapAdminOwner: owner(env, 'BOOTSTRAP_ADMIN_OWNER', 'bootstrap-admin'),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    dataDir: optional(env, 'DATA_DIR') ?? '.data',
    embeddedPostgresPort: integer(env, 'EMBEDDED_POSTGRES_PORT', 54329, 1024, 65535),
    migrateOnStart: boolean(env, 'MIGRATE_ON_START', true),
    idempotencyRetentionHours: integer(env, 'IDEMPOTENCY_RETENTION_HOURS', 24, 1, 24 * 30),
    ownership: {
      provider: provider(env, 'VERIFICATION_PROVIDER'),
      challengeTtlHours: integer(env, 'CHALLENGE_TTL_HOURS', 7 * 24, 1, 90 * 24),
      recheckIntervalHours: integer(env, 'DOMAIN_RECHECK_INTERVAL_HOURS', 24, 1, 30 * 24),
      lapseFailures: integer(env, 'DOMAIN_LAPSE_FAILURES', 3, 1, 100),
      lapseGraceHours: integer(env, 'DOMAIN_LAPSE_GRACE_HOURS', 72, 0, 90 * 24),
      retryBaseSeconds: integer(env, 'DNS_RETRY_BASE_SECONDS', 60, 1, 3600),
    },
    dns: {
      resolvers: resolverList(env, 'DNS_RESOLVERS'),
      timeoutMs: integer(env, 'DNS_TIMEOUT_MS', 2000, 50, 30_000),
      tries: integer(env, 'DNS_TRIES', 2, 1, 5),
    },
    dnsCheck: {
      deadlineMs: integer(env, 'DNS_CHECK_DEADLINE_MS', 5000, 100, 120_000),
    },
    dnsCanary: { name: canaryName(env, 'DNS_CANARY_NAME') },
    runWorker: boolean(env, 'RUN_WORKER', true),
    // pg-boss refuses a heartbeat under 10 s.
    jobHeartbeatSeconds: integer(env, 'JOB_HEARTBEAT_SECONDS', 30, 10, 3600),
    exceptions: exceptionRules(env),
    feed: feed(env, production),
    snapshot: snapshot(env),
    retention: {
      domainCheckDays: integer(env, 'DOMAIN_CHECK_RETENTION_DAYS', 90, 1, 3650),
      domainCheckHistoryMax: integer(env, 'DOMAIN_CHECK_HISTORY_MAX', 100, 10, 10_000),
    },
    database: databaseLimits(env),
    http: httpLimits(env),
    rateLimits: rateLimits(env),
    blocklists: blocklists(env),
    notifications: notifications(env, production),
    selfHealing: {
      graceDays: integer(env, 'SELF_HEALING_GRACE_DAYS', 14, 0, 365),
      checkIntervalHours: integer(env, 'SELF_HEALING_CHECK_INTERVAL_HOURS', 6, 1, 30 * 24),
    },
    policy: policyServer(env),
    console: consoleConfig(env),
    audit: audit(env, production),
    metrics: metricsConfig(env),
  };
}
