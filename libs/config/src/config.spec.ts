import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(Object.keys(env))}) to throw`);
}

const validKey = 'hp_' + 'Ab0_-'.repeat(8);

describe('loadConfig', () => {
  describe('defaults', () => {
    it('answers every default for an empty environment', () => {
      expect(loadConfig({})).toEqual({
        databaseUrl: undefined,
        migrationDatabaseUrl: undefined,
        host: '127.0.0.1',
        port: 3000,
        logLevel: 'info',
        logFormat: 'auto',
        bootstrapAdminKey: undefined,
        bootstrapAdminOwner: 'bootstrap-admin',
        bodyLimitBytes: 64 * 1024,
        dataDir: '.data',
        embeddedPostgresPort: 54329,
        migrateOnStart: true,
        idempotencyRetentionHours: 24,
        ownership: {
          provider: 'mailmax',
          challengeTtlHours: 168,
          recheckIntervalHours: 24,
          lapseFailures: 3,
          lapseGraceHours: 72,
          retryBaseSeconds: 60,
        },
        dns: { resolvers: [], timeoutMs: 2000, tries: 2 },
        dnsCheck: { deadlineMs: 5000 },
        dnsCanary: { name: 'a.root-servers.net' },
        runWorker: true,
        jobHeartbeatSeconds: 30,
        exceptions: { defaultDays: 90, maxDays: 365, approvalDays: 90, approvalPrefixV4: 24, approvalPrefixV6: 48 },
        feed: { pollSeconds: 5, signingKey: undefined, signingKeyInDatabase: true, coalesceMs: 100, digestSeconds: 600, changeLogRetentionHours: 168 },
        snapshot: { dir: join('.data', 'snapshot'), writeSeconds: 2 },
        audit: { signingKey: undefined, signingKeyInDatabase: true, checkpointIntervalMinutes: 60, checkpointFile: undefined, checkpointUrl: undefined, stateSnapshotIntervalMinutes: 60 },
        production: false,
        retention: { domainCheckDays: 90, domainCheckHistoryMax: 100 },
        database: {
          connectTimeoutMs: 5000,
          statementTimeoutMs: 30_000,
          lockTimeoutMs: 10_000,
          idleInTransactionTimeoutMs: 60_000,
          retryAfterSeconds: 5,
        },
        http: { connectionTimeoutMs: 120_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000 },
        rateLimits: { perMinute: 600, feedPerMinute: 1200, authFailuresPerMinute: 20, trustedProxies: [] },
        blocklists: { addressZones: [], domainZones: [], maxAddresses: 256, recheckIntervalMinutes: 60 },
        console: { sessionIdleMs: 1_800_000, sessionMaxMs: 43_200_000, cookieSecure: 'auto', publicCheckPerMinute: 30, enabled: true },
        metrics: { host: '127.0.0.1', apiPort: undefined, policyPort: undefined, workerPort: undefined },
        notifications: {
          webhooks: {
            secretKeys: [],
            secretKeyInDatabase: true,
            targets: { allowPrivateRanges: false, allowedPrefixes: [] },
            timeoutMs: 10_000,
            maxAttempts: 8,
            retryBaseSeconds: 30,
            retryMaxSeconds: 21_600,
          },
          reminders: { expiryLeadDays: [14, 7, 1], approvalWaitingHours: 24 },
          stale: { policy: 'off', unusedDays: 45 },
          email: undefined,
          logRetentionDays: 30,
        },
        selfHealing: { graceDays: 14, checkIntervalHours: 6 },
        policy: {
          host: '127.0.0.1',
          port: 10040,
          runWithApi: true,
          maxConnections: 1000,
          maxRequestBytes: 8192,
          idleTimeoutSeconds: 330,
          requestTimeoutSeconds: 10,
          usageFlushSeconds: 10,
        },
      });
    });

    it('treats empty variables as unset', () => {
      expect(
        loadConfig({
          DATABASE_URL: '',
          HOST: '',
          PORT: '',
          LOG_LEVEL: '',
          LOG_FORMAT: '',
          BOOTSTRAP_ADMIN_KEY: '',
          BOOTSTRAP_ADMIN_OWNER: '',
          BODY_LIMIT_BYTES: '',
          DATA_DIR: '',
          EMBEDDED_POSTGRES_PORT: '',
          MIGRATE_ON_START: '',
          IDEMPOTENCY_RETENTION_HOURS: '',
        }),
      ).toEqual(loadConfig({}));
    });

    it('ignores unrelated variables', () => {
      expect(loadConfig({ PATH: '/usr/bin', NODE_ENV: 'development' })).toEqual(loadConfig({}));
    });
  });

  describe('valid settings', () => {
    it('reads every variable', () => {
      expect(
        loadConfig({
          DATABASE_URL: 'postgresql://helopass:pw@db.internal:5432/helopass',
          HOST: '0.0.0.0',
          PORT: '8080',
          LOG_LEVEL: 'debug',
          LOG_FORMAT: 'json',
          BOOTSTRAP_ADMIN_KEY: validKey,
          BOOTSTRAP_ADMIN_OWNER: ' Ops@Example.com ',
          BODY_LIMIT_BYTES: '1048576',
          DATA_DIR: '/var/lib/helopass',
          EMBEDDED_POSTGRES_PORT: '55432',
          MIGRATE_ON_START: 'false',
          IDEMPOTENCY_RETENTION_HOURS: '48',
          VERIFICATION_PROVIDER: 'acme-mail',
          CHALLENGE_TTL_HOURS: '48',
          DOMAIN_RECHECK_INTERVAL_HOURS: '12',
          DOMAIN_LAPSE_FAILURES: '4',
          DOMAIN_LAPSE_GRACE_HOURS: '96',
          DNS_RETRY_BASE_SECONDS: '30',
          DNS_RESOLVERS: '192.0.2.53, [2001:db8::53]:5353,resolver.internal:53',
          DNS_TIMEOUT_MS: '1500',
          DNS_TRIES: '3',
          DNS_CHECK_DEADLINE_MS: '8000',
          DNS_CANARY_NAME: 'Canary.Example.NET.',
          RUN_WORKER: 'false',
          EXCEPTION_MAX_DAYS: '180',
          EXCEPTION_DEFAULT_DAYS: '30',
          EXCEPTION_APPROVAL_DAYS: '60',
          EXCEPTION_APPROVAL_PREFIX_V4: '28',
          EXCEPTION_APPROVAL_PREFIX_V6: '56',
          FEED_POLL_SECONDS: '2',
          FEED_SIGNING_KEY: 'seed-in-base64',
          FEED_SIGNING_KEY_IN_DATABASE: 'false',
          DOMAIN_CHECK_RETENTION_DAYS: '30',
          DOMAIN_CHECK_HISTORY_MAX: '20',
        }),
      ).toEqual({
        databaseUrl: 'postgresql://helopass:pw@db.internal:5432/helopass',
        migrationDatabaseUrl: 'postgresql://helopass:pw@db.internal:5432/helopass',
        host: '0.0.0.0',
        port: 8080,
        logLevel: 'debug',
        logFormat: 'json',
        bootstrapAdminKey: validKey,
        bootstrapAdminOwner: 'ops@example.com',
        bodyLimitBytes: 1_048_576,
        dataDir: '/var/lib/helopass',
        embeddedPostgresPort: 55432,
        migrateOnStart: false,
        idempotencyRetentionHours: 48,
        ownership: {
          provider: 'acme-mail',
          challengeTtlHours: 48,
          recheckIntervalHours: 12,
          lapseFailures: 4,
          lapseGraceHours: 96,
          retryBaseSeconds: 30,
        },
        dns: { resolvers: ['192.0.2.53', '[2001:db8::53]:5353', 'resolver.internal:53'], timeoutMs: 1500, tries: 3 },
        dnsCheck: { deadlineMs: 8000 },
        dnsCanary: { name: 'canary.example.net' },
        runWorker: false,
        jobHeartbeatSeconds: 30,
        exceptions: { defaultDays: 30, maxDays: 180, approvalDays: 60, approvalPrefixV4: 28, approvalPrefixV6: 56 },
        feed: { pollSeconds: 2, signingKey: 'seed-in-base64', signingKeyInDatabase: false, nextSigningKey: undefined, coalesceMs: 100, digestSeconds: 600, changeLogRetentionHours: 168 },
        snapshot: { dir: join('/var/lib/helopass', 'snapshot'), writeSeconds: 2 },
        audit: loadConfig({}).audit,
        production: false,
        retention: { domainCheckDays: 30, domainCheckHistoryMax: 20 },
        database: loadConfig({}).database,
        http: loadConfig({}).http,
        rateLimits: loadConfig({}).rateLimits,
        blocklists: { addressZones: [], domainZones: [], maxAddresses: 256, recheckIntervalMinutes: 60 },
        notifications: loadConfig({}).notifications,
        selfHealing: loadConfig({}).selfHealing,
        policy: loadConfig({}).policy,
        console: loadConfig({}).console,
        metrics: loadConfig({}).metrics,
      });
    });

    it('reads the self-healing settings and refuses bad ones, naming the variable', () => {
      expect(loadConfig({ SELF_HEALING_GRACE_DAYS: '0', SELF_HEALING_CHECK_INTERVAL_HOURS: '24' }).selfHealing).toEqual({ graceDays: 0, checkIntervalHours: 24 });
      expect(() => loadConfig({ SELF_HEALING_GRACE_DAYS: 'two weeks' })).toThrow(/^SELF_HEALING_GRACE_DAYS/);
      expect(() => loadConfig({ SELF_HEALING_CHECK_INTERVAL_HOURS: '0' })).toThrow(/^SELF_HEALING_CHECK_INTERVAL_HOURS/);
    });

    it('reads the policy server settings', () => {
      expect(
        loadConfig({
          POLICY_HOST: '::1',
          POLICY_PORT: '10041',
          RUN_POLICY_SERVER: 'false',
          POLICY_MAX_CONNECTIONS: '50',
          POLICY_MAX_REQUEST_BYTES: '4096',
          POLICY_IDLE_TIMEOUT_SECONDS: '600',
          POLICY_REQUEST_TIMEOUT_SECONDS: '5',
          POLICY_USAGE_FLUSH_SECONDS: '30',
        }).policy,
      ).toEqual({
        host: '::1',
        port: 10041,
        runWithApi: false,
        maxConnections: 50,
        maxRequestBytes: 4096,
        idleTimeoutSeconds: 600,
        requestTimeoutSeconds: 5,
        usageFlushSeconds: 30,
      });
      expect(() => loadConfig({ POLICY_PORT: '70000' })).toThrow(/^POLICY_PORT must be/);
      expect(() => loadConfig({ POLICY_MAX_REQUEST_BYTES: '100' })).toThrow(/^POLICY_MAX_REQUEST_BYTES must be/);
      expect(() => loadConfig({ RUN_POLICY_SERVER: 'sometimes' })).toThrow(/^RUN_POLICY_SERVER must be/);
    });

    it('refuses a default exception duration beyond the maximum', () => {
      expect(() => loadConfig({ EXCEPTION_MAX_DAYS: '30', EXCEPTION_DEFAULT_DAYS: '60' })).toThrow(/^EXCEPTION_DEFAULT_DAYS/);
      expect(loadConfig({ EXCEPTION_MAX_DAYS: '30' }).exceptions.defaultDays).toBe(30);
    });

    it('refuses a bad provider label or resolver list, naming the variable', () => {
      expect(() => loadConfig({ VERIFICATION_PROVIDER: 'Mail Max' })).toThrow(/^VERIFICATION_PROVIDER/);
      expect(() => loadConfig({ VERIFICATION_PROVIDER: '-mailmax' })).toThrow(ConfigError);
      expect(() => loadConfig({ DNS_RESOLVERS: '192.0.2.53,,192.0.2.54' })).toThrow(/^DNS_RESOLVERS/);
      expect(() => loadConfig({ DNS_RESOLVERS: '192.0.2.53:99999' })).toThrow(/^DNS_RESOLVERS/);
      expect(() => loadConfig({ DNS_TIMEOUT_MS: '10' })).toThrow(/^DNS_TIMEOUT_MS/);
      expect(() => loadConfig({ DNS_CHECK_DEADLINE_MS: '99' })).toThrow(/^DNS_CHECK_DEADLINE_MS must be a whole number between 100 and 120000/);
      expect(() => loadConfig({ DNS_CANARY_NAME: 'no such..name' })).toThrow(/^DNS_CANARY_NAME must be a DNS name that always exists/);
      expect(loadConfig({}).dnsCanary.name).toBe('a.root-servers.net');
    });

    it('runs migrations as MIGRATION_DATABASE_URL\'s role, DATABASE_URL\'s when unset', () => {
      const runtime = 'postgres://helopass_app:pw@db/helopass';
      const owner = 'postgres://helopass_owner:pw@db/helopass';
      expect(loadConfig({ DATABASE_URL: runtime, MIGRATION_DATABASE_URL: owner })).toMatchObject({ databaseUrl: runtime, migrationDatabaseUrl: owner });
      expect(loadConfig({ DATABASE_URL: runtime }).migrationDatabaseUrl).toBe(runtime);
      expect(() => loadConfig({ MIGRATION_DATABASE_URL: owner })).toThrow(/^MIGRATION_DATABASE_URL needs DATABASE_URL/);
      expect(() => loadConfig({ DATABASE_URL: runtime, MIGRATION_DATABASE_URL: 'mysql://x@db/y' })).toThrow(/^MIGRATION_DATABASE_URL must be a postgres/);
    });

    it('accepts both postgres:// and postgresql:// URLs', () => {
      expect(loadConfig({ DATABASE_URL: 'postgres://u@localhost/db' }).databaseUrl).toBe('postgres://u@localhost/db');
      expect(loadConfig({ DATABASE_URL: 'postgresql://u@localhost/db' }).databaseUrl).toBe(
        'postgresql://u@localhost/db',
      );
    });

    it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('accepts LOG_LEVEL=%s', (level) => {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    });

    it.each(['auto', 'json', 'pretty'])('accepts LOG_FORMAT=%s', (format) => {
      expect(loadConfig({ LOG_FORMAT: format }).logFormat).toBe(format);
    });

    it.each([
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['yes', true],
      ['Yes', true],
      ['false', false],
      ['False', false],
      ['0', false],
      ['no', false],
    ])('reads MIGRATE_ON_START=%j as %j', (raw, expected) => {
      expect(loadConfig({ MIGRATE_ON_START: raw }).migrateOnStart).toBe(expected);
    });

    it('accepts the bounds of the numeric ranges', () => {
      expect(loadConfig({ PORT: '0' }).port).toBe(0);
      expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
      expect(loadConfig({ BODY_LIMIT_BYTES: '1024' }).bodyLimitBytes).toBe(1024);
      expect(loadConfig({ BODY_LIMIT_BYTES: String(10 * 1024 * 1024) }).bodyLimitBytes).toBe(10 * 1024 * 1024);
      expect(loadConfig({ EMBEDDED_POSTGRES_PORT: '1024' }).embeddedPostgresPort).toBe(1024);
      expect(loadConfig({ IDEMPOTENCY_RETENTION_HOURS: '1' }).idempotencyRetentionHours).toBe(1);
      expect(loadConfig({ IDEMPOTENCY_RETENTION_HOURS: '720' }).idempotencyRetentionHours).toBe(720);
    });

    it('answers numbers, not strings', () => {
      expect(typeof loadConfig({ PORT: '8080' }).port).toBe('number');
    });

    it('accepts a well-formed bootstrap key of the minimum length', () => {
      const key = 'k'.repeat(32);
      expect(loadConfig({ BOOTSTRAP_ADMIN_KEY: key }).bootstrapAdminKey).toBe(key);
    });
  });

  describe('bad settings throw a ConfigError naming the variable', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '-1'],
      ['PORT', '65536'],
      ['PORT', '80.5'],
      ['PORT', ' 80'],
      ['PORT', '1e3'],
      ['PORT', '0x50'],
      ['BODY_LIMIT_BYTES', '1023'],
      ['BODY_LIMIT_BYTES', String(10 * 1024 * 1024 + 1)],
      ['BODY_LIMIT_BYTES', '64k'],
      ['EMBEDDED_POSTGRES_PORT', '1023'],
      ['EMBEDDED_POSTGRES_PORT', '70000'],
      ['IDEMPOTENCY_RETENTION_HOURS', '0'],
      ['IDEMPOTENCY_RETENTION_HOURS', '721'],
      ['IDEMPOTENCY_RETENTION_HOURS', '24h'],
      ['LOG_LEVEL', 'verbose'],
      ['LOG_LEVEL', 'INFO'],
      ['LOG_FORMAT', 'text'],
      ['MIGRATE_ON_START', 'maybe'],
      ['MIGRATE_ON_START', 'on'],
      ['DATABASE_URL', 'not a url'],
      ['DATABASE_URL', 'mysql://u@localhost/db'],
      ['DATABASE_URL', 'http://localhost:5432/db'],
      ['DATABASE_URL', 'localhost:5432'],
      ['BOOTSTRAP_ADMIN_KEY', 'short'],
      ['BOOTSTRAP_ADMIN_KEY', 'k'.repeat(31)],
      ['BOOTSTRAP_ADMIN_KEY', 'k'.repeat(129)],
      ['BOOTSTRAP_ADMIN_KEY', 'k'.repeat(40) + '/'],
      ['BOOTSTRAP_ADMIN_KEY', 'k'.repeat(40) + '+'],
      ['BOOTSTRAP_ADMIN_KEY', 'k'.repeat(40) + '%'],
      ['BOOTSTRAP_ADMIN_KEY', 'k'.repeat(40) + ' '],
      ['FEED_SIGNING_KEY_IN_DATABASE', 'sometimes'],
      ['DOMAIN_CHECK_RETENTION_DAYS', '0'],
      ['DOMAIN_CHECK_HISTORY_MAX', '9'],
      ['DOMAIN_CHECK_HISTORY_MAX', '10001'],
      ['BOOTSTRAP_ADMIN_OWNER', 'two words'],
      ['BOOTSTRAP_ADMIN_OWNER', 'alice@'],
      ['BOOTSTRAP_ADMIN_OWNER', 'o'.repeat(255)],
    ])('%s=%j', (name, value) => {
      const error = refusal({ [name]: value });
      expect(error.name).toBe('ConfigError');
      expect(error.message).toContain(name);
    });

    it('names the bad variable, not another one, when several are set', () => {
      const error = refusal({ PORT: '8080', LOG_LEVEL: 'info', BODY_LIMIT_BYTES: 'lots' });
      expect(error.message).toContain('BODY_LIMIT_BYTES');
      expect(error.message).not.toContain('PORT');
    });

    it('states the allowed range of a number', () => {
      expect(refusal({ PORT: '99999' }).message).toMatch(/0 and 65535/);
    });

    it('lists the allowed log levels', () => {
      expect(refusal({ LOG_LEVEL: 'verbose' }).message).toMatch(/info/);
    });
  });

  describe('NODE_ENV=production', () => {
    const seed = Buffer.alloc(32, 7).toString('base64');

    it('refuses to start without FEED_SIGNING_KEY, naming it and the way to keep a generated key', () => {
      const { message } = refusal({ NODE_ENV: 'production' });
      expect(message).toContain('FEED_SIGNING_KEY must be set when NODE_ENV=production');
      expect(message).toContain('FEED_SIGNING_KEY_IN_DATABASE=true');
      expect(refusal({ NODE_ENV: 'production', FEED_SIGNING_KEY_IN_DATABASE: 'false' }).message).toContain('FEED_SIGNING_KEY');
    });

    it('starts with FEED_SIGNING_KEY, or with a generated key explicitly allowed in the database', () => {
      // WEBHOOK_SECRET_KEY follows the same rule (notifications-config.spec.ts).
      const webhookKey = { WEBHOOK_SECRET_KEY: Buffer.alloc(32, 8).toString('base64'), AUDIT_SIGNING_KEY: Buffer.alloc(32, 9).toString('base64') };
      expect(loadConfig({ NODE_ENV: 'production', FEED_SIGNING_KEY: seed, ...webhookKey })).toMatchObject({
        production: true,
        feed: { signingKey: seed, signingKeyInDatabase: false },
      });
      expect(loadConfig({ NODE_ENV: 'production', FEED_SIGNING_KEY_IN_DATABASE: 'true', ...webhookKey })).toMatchObject({
        production: true,
        feed: { signingKey: undefined, signingKeyInDatabase: true },
      });
    });

    it('takes FEED_SIGNING_KEY_NEXT, the key staged for the next rotation: a valid key, neither the current one nor the audit key', () => {
      const next = Buffer.alloc(32, 5).toString('base64');
      const others = { WEBHOOK_SECRET_KEY: Buffer.alloc(32, 8).toString('base64'), AUDIT_SIGNING_KEY: Buffer.alloc(32, 9).toString('base64') };
      expect(loadConfig({ NODE_ENV: 'production', FEED_SIGNING_KEY: seed, FEED_SIGNING_KEY_NEXT: next, ...others }).feed).toMatchObject({
        signingKey: seed,
        nextSigningKey: next,
      });
      expect(loadConfig({ NODE_ENV: 'production', FEED_SIGNING_KEY: seed, ...others }).feed.nextSigningKey).toBeUndefined();
      expect(refusal({ FEED_SIGNING_KEY: seed, FEED_SIGNING_KEY_NEXT: seed }).message).toBe(
        'FEED_SIGNING_KEY_NEXT must differ from FEED_SIGNING_KEY: it is the key that signs after the rotation',
      );
      const samePem = `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]).toString('base64')}\n-----END PRIVATE KEY-----\n`;
      expect(refusal({ FEED_SIGNING_KEY: seed, FEED_SIGNING_KEY_NEXT: samePem }).message).toContain('FEED_SIGNING_KEY_NEXT must differ from FEED_SIGNING_KEY');
      expect(refusal({ FEED_SIGNING_KEY_NEXT: 'c2hvcnQ=' }).message).toMatch(/^FEED_SIGNING_KEY_NEXT must be base64 of a 32-byte Ed25519 seed/);
      expect(refusal({ FEED_SIGNING_KEY: seed, FEED_SIGNING_KEY_NEXT: next, AUDIT_SIGNING_KEY: next }).message).toContain(
        'AUDIT_SIGNING_KEY must differ from FEED_SIGNING_KEY and FEED_SIGNING_KEY_NEXT',
      );
    });

    it('refuses to start without AUDIT_SIGNING_KEY (its own key, never the feed\'s), like the feed key', () => {
      const others = { FEED_SIGNING_KEY: seed, WEBHOOK_SECRET_KEY: Buffer.alloc(32, 8).toString('base64') };
      expect(refusal({ NODE_ENV: 'production', ...others }).message).toContain('AUDIT_SIGNING_KEY must be set when NODE_ENV=production');
      expect(refusal({ NODE_ENV: 'production', ...others, AUDIT_SIGNING_KEY: seed }).message).toContain('AUDIT_SIGNING_KEY must differ from FEED_SIGNING_KEY');
      expect(refusal({ NODE_ENV: 'production', ...others, AUDIT_SIGNING_KEY: 'c2hvcnQ=' }).message).toMatch(/^AUDIT_SIGNING_KEY must be base64 of a 32-byte Ed25519 seed/);
      expect(loadConfig({ NODE_ENV: 'production', ...others, AUDIT_SIGNING_KEY_IN_DATABASE: 'true' }).audit.signingKeyInDatabase).toBe(true);
      expect(refusal({ AUDIT_CHECKPOINT_URL: 'ftp://x' }).message).toBe('AUDIT_CHECKPOINT_URL must be an http:// or https:// URL');
      expect(loadConfig({ AUDIT_STATE_SNAPSHOT_INTERVAL_MINUTES: '15' }).audit.stateSnapshotIntervalMinutes).toBe(15);
      expect(refusal({ AUDIT_STATE_SNAPSHOT_INTERVAL_MINUTES: '0' }).message).toContain('AUDIT_STATE_SNAPSHOT_INTERVAL_MINUTES');
      expect(loadConfig({ AUDIT_CHECKPOINT_INTERVAL_MINUTES: '0', AUDIT_CHECKPOINT_FILE: '/var/lib/helopass/checkpoints.ndjson' }).audit).toMatchObject({
        checkpointIntervalMinutes: 0,
        checkpointFile: '/var/lib/helopass/checkpoints.ndjson',
      });
    });

    it('outside production a generated key may be kept in the database unless that is turned off', () => {
      expect(loadConfig({ NODE_ENV: 'test' }).production).toBe(false);
      expect(refusal({ FEED_SIGNING_KEY_IN_DATABASE: 'false' }).message).toContain('FEED_SIGNING_KEY must be set');
    });
  });

  describe('secrets are never repeated in messages', () => {
    it.each([
      'hp_this-is-a-secret-but-has-a-slash/0123456789',
      'hp_secret!',
      'hp_tooShortSecret',
      `hp_${'S'.repeat(200)}`,
    ])('BOOTSTRAP_ADMIN_KEY=%j', (value) => {
      const { message } = refusal({ BOOTSTRAP_ADMIN_KEY: value });
      expect(message).toContain('BOOTSTRAP_ADMIN_KEY');
      expect(message).not.toContain(value);
      expect(message).not.toMatch(/hp_/);
      expect(message).not.toMatch(/secret|SSSS/i);
    });

    it('DATABASE_URL with a password', () => {
      const { message } = refusal({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
      expect(message).toContain('DATABASE_URL');
      expect(message).not.toContain('hunter2');
    });
  });

  describe('limits and timeouts', () => {
    it('reads the database, HTTP and rate-limit settings', () => {
      const config = loadConfig({
        DB_CONNECT_TIMEOUT_MS: '2000',
        DB_STATEMENT_TIMEOUT_MS: '15000',
        DB_LOCK_TIMEOUT_MS: '3000',
        DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '20000',
        DB_RETRY_AFTER_SECONDS: '10',
        HTTP_CONNECTION_TIMEOUT_MS: '90000',
        HTTP_REQUEST_TIMEOUT_MS: '10000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
        RATE_LIMIT_PER_MINUTE: '100',
        RATE_LIMIT_FEED_PER_MINUTE: '300',
        RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5',
        TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1,2001:db8::/32',
      });
      expect(config.database).toEqual({
        connectTimeoutMs: 2000,
        statementTimeoutMs: 15_000,
        lockTimeoutMs: 3000,
        idleInTransactionTimeoutMs: 20_000,
        retryAfterSeconds: 10,
      });
      expect(config.http).toEqual({ connectionTimeoutMs: 90_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 65_000 });
      expect(config.rateLimits).toEqual({
        perMinute: 100,
        feedPerMinute: 300,
        authFailuresPerMinute: 5,
        trustedProxies: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32'],
      });
    });

    it.each([
      ['DB_CONNECT_TIMEOUT_MS', '0'],
      ['DB_STATEMENT_TIMEOUT_MS', '10s'],
      ['DB_RETRY_AFTER_SECONDS', '0'],
      ['JOB_HEARTBEAT_SECONDS', '9'],
      ['JOB_HEARTBEAT_SECONDS', 'often'],
      ['HTTP_REQUEST_TIMEOUT_MS', '999'],
      ['RATE_LIMIT_PER_MINUTE', '0'],
      ['RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 'many'],
      ['TRUSTED_PROXIES', '10.0.0.0/33'],
      ['TRUSTED_PROXIES', 'proxy.internal'],
      ['TRUSTED_PROXIES', '192.0.2.1;192.0.2.2'],
    ])('refuses %s=%j, naming it', (name, value) => {
      expect(refusal({ [name]: value }).message).toContain(name);
    });

    it('refuses a connection timeout that would cut kept-alive connections first', () => {
      expect(refusal({ HTTP_CONNECTION_TIMEOUT_MS: '60000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '72000' }).message).toMatch(
        /^HTTP_CONNECTION_TIMEOUT_MS/,
      );
    });
  });

  describe('DNS blocklists', () => {
    it('reads zones with return codes, the prefix limit and the schedule', () => {
      expect(
        loadConfig({
          DNSBL_ZONES: 'zen.spamhaus.org:127.0.0.2-127.0.0.11, bl.example.net',
          DNSBL_DOMAIN_ZONES: 'dbl.spamhaus.org:127.0.1.2-127.0.1.99',
          DNSBL_MAX_ADDRESSES: '1024',
          BLOCKLIST_RECHECK_INTERVAL_MINUTES: '15',
        }).blocklists,
      ).toEqual({
        addressZones: [{ name: 'zen.spamhaus.org', codes: [{ from: 0x7f000002, to: 0x7f00000b }] }, { name: 'bl.example.net' }],
        domainZones: [{ name: 'dbl.spamhaus.org', codes: [{ from: 0x7f000102, to: 0x7f000163 }] }],
        maxAddresses: 1024,
        recheckIntervalMinutes: 15,
      });
    });

    it.each([
      ['DNSBL_ZONES', 'zen.spamhaus.org:192.0.2.1', 'outside 127.0.0.0/8'],
      ['DNSBL_ZONES', 'zen.spamhaus.org,,bl.example.net', 'empty entry'],
      ['DNSBL_DOMAIN_ZONES', 'dbl', 'not a DNS zone name'],
      ['DNSBL_MAX_ADDRESSES', '0', '1 and 65536'],
      ['DNSBL_MAX_ADDRESSES', '65537', '1 and 65536'],
      ['BLOCKLIST_RECHECK_INTERVAL_MINUTES', '0', '1 and 10080'],
    ])('refuses %s=%j, naming the variable and the problem', (name, value, problem) => {
      const { message } = refusal({ [name]: value });
      expect(message).toContain(name);
      expect(message).toContain(problem);
    });
  });

  it('reads process.env when no environment is given', () => {
    const saved = process.env.PORT;
    try {
      process.env.PORT = '4321';
      expect(loadConfig().port).toBe(4321);
    } finally {
      if (saved === undefined) {
        delete process.env.PORT;
      } else {
        process.env.PORT = saved;
      }
    }
  });
});
