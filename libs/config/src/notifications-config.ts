import ipaddr from 'ipaddr.js';
import { DEFAULT_EMAIL_EVENT_TYPES, isNotificationEventType, type NotificationEventType } from '@app/domain';
import { boolean, ConfigError, integer, optional, type Env } from './env.js';

export interface NotificationsConfig {
  readonly webhooks: WebhooksConfig;
  readonly reminders: RemindersConfig;
  readonly stale: StalePolicyConfig;
  /** Absent: no e-mail is sent (SMTP_URL unset). */
  readonly email: EmailConfig | undefined;
  /** Events and their delivery logs older than this are deleted by the worker. */
  readonly logRetentionDays: number;
}

export interface WebhooksConfig {
  /**
   * Keys (32 bytes each, as given: base64 or hex) that encrypt subscription
   * secrets at rest: the first seals new secrets, any opens (rotation).
   * Empty: one is generated and kept in the database, where allowed.
   */
  readonly secretKeys: readonly string[];
  /** Whether a generated key may be kept in the database when secretKeys is empty (not by default in production). */
  readonly secretKeyInDatabase: boolean;
  /** Which non-public targets deliveries may reach (WEBHOOK_ALLOW_PRIVATE_TARGETS). */
  readonly targets: WebhookTargetsConfig;
  /** One attempt (connection, request, response, every redirect) must be over within this. */
  readonly timeoutMs: number;
  /** Attempts per delivery before it is given up (failed; an admin may replay it). */
  readonly maxAttempts: number;
  /** Wait before the second attempt; doubled for each further one… */
  readonly retryBaseSeconds: number;
  /** …up to this. */
  readonly retryMaxSeconds: number;
}

export interface WebhookTargetsConfig {
  /** `true`: loopback, private (RFC 1918), carrier-grade NAT and unique-local targets are allowed. */
  readonly allowPrivateRanges: boolean;
  /** Addresses and prefixes allowed whatever their range (a list given instead of `true`). */
  readonly allowedPrefixes: readonly string[];
}

export interface RemindersConfig {
  /** Days before expiry at which `exception.expiring` is sent, largest first; empty: none. */
  readonly expiryLeadDays: readonly number[];
  /** An approval waiting longer than this is announced (`*.approval_waiting`) once. */
  readonly approvalWaitingHours: number;
}

export interface StalePolicyConfig {
  /** `notify`: the worker flags active exceptions unused for `unusedDays` and notifies; never revokes. */
  readonly policy: 'off' | 'notify';
  readonly unusedDays: number;
}

export interface EmailConfig {
  /** The operator's SMTP relay, `smtp://` or `smtps://` (may hold credentials: never logged). */
  readonly smtpUrl: string;
  readonly from: string;
  readonly events: readonly NotificationEventType[];
}

const KEY_BYTES = 32;
const EMAIL = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;

/** A key as WEBHOOK_SECRET_KEY takes it: 32 bytes in base64 (44 characters) or hex (64). Never echoes the value. */
export function decodeWebhookSecretKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    return Buffer.from(text, 'hex');
  }
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return bytes.length === KEY_BYTES ? bytes : undefined;
  }
  return undefined;
}

function list(env: Env, name: string): string[] | undefined {
  const raw = optional(env, name);
  return raw === undefined
    ? undefined
    : raw
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0);
}

function secretKeys(env: Env): string[] {
  const keys = list(env, 'WEBHOOK_SECRET_KEY') ?? [];
  keys.forEach((key, index) => {
    if (decodeWebhookSecretKey(key) === undefined) {
      // The value is a secret: say which entry, never what it holds.
      throw new ConfigError(
        `WEBHOOK_SECRET_KEY entry ${index + 1} must be 32 bytes in base64 (44 characters) or hex (64 characters), e.g. from \`openssl rand -base64 32\``,
      );
    }
  });
  return keys;
}

function targets(env: Env): WebhookTargetsConfig {
  const name = 'WEBHOOK_ALLOW_PRIVATE_TARGETS';
  const raw = optional(env, name);
  if (raw === undefined || /^(true|1|yes|false|0|no)$/i.test(raw)) {
    return { allowPrivateRanges: boolean(env, name, false), allowedPrefixes: [] };
  }
  const prefixes = (list(env, name) ?? []).map((entry) => {
    if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      return `${address.toString()}/${address.kind() === 'ipv4' ? 32 : 128}`;
    }
    if (ipaddr.isValidCIDR(entry)) {
      return entry;
    }
    throw new ConfigError(`${name} must be true, false, or a comma-separated list of IP addresses and CIDR prefixes`);
  });
  return { allowPrivateRanges: false, allowedPrefixes: prefixes };
}

function webhooks(env: Env, production: boolean): WebhooksConfig {
  const keys = secretKeys(env);
  const secretKeyInDatabase = boolean(env, 'WEBHOOK_SECRET_KEY_IN_DATABASE', !production);
  if (keys.length === 0 && !secretKeyInDatabase) {
    // A key generated into the database sits beside what it encrypts: a backup holds both.
    throw new ConfigError(
      production
        ? 'WEBHOOK_SECRET_KEY must be set when NODE_ENV=production (or set WEBHOOK_SECRET_KEY_IN_DATABASE=true to keep a generated key in the database)'
        : 'WEBHOOK_SECRET_KEY must be set when WEBHOOK_SECRET_KEY_IN_DATABASE=false',
    );
  }
  const retryBaseSeconds = integer(env, 'WEBHOOK_RETRY_BASE_SECONDS', 30, 1, 3600);
  const retryMaxSeconds = integer(env, 'WEBHOOK_RETRY_MAX_SECONDS', 6 * 3600, 1, 7 * 24 * 3600);
  if (retryMaxSeconds < retryBaseSeconds) {
    throw new ConfigError('WEBHOOK_RETRY_MAX_SECONDS must not be shorter than WEBHOOK_RETRY_BASE_SECONDS');
  }
  return {
    secretKeys: keys,
    secretKeyInDatabase,
    targets: targets(env),
    timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    maxAttempts: integer(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1, 20),
    retryBaseSeconds,
    retryMaxSeconds,
  };
}

function leadDays(env: Env): number[] {
  const name = 'EXPIRY_REMINDER_DAYS';
  const raw = optional(env, name);
  if (raw?.toLowerCase() === 'off') {
    return [];
  }
  const entries = list(env, name) ?? ['14', '7', '1'];
  const days = entries.map((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) < 1 || Number(entry) > 3650) {
      throw new ConfigError(`${name} must be "off" or a comma-separated list of whole days between 1 and 3650 (e.g. 14,7,1)`);
    }
    return Number(entry);
  });
  if (days.length > 10) {
    throw new ConfigError(`${name} may name at most 10 lead times`);
  }
  return [...new Set(days)].sort((a, b) => b - a);
}

function email(env: Env): EmailConfig | undefined {
  const smtpUrl = optional(env, 'SMTP_URL');
  if (smtpUrl === undefined) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    // The URL may carry the relay's password: never repeat it.
    throw new ConfigError('SMTP_URL must be an smtp:// or smtps:// URL (smtp://relay.example.net:587)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError('SMTP_URL must be an smtp:// or smtps:// URL (smtp://relay.example.net:587)');
  }
  const from = optional(env, 'NOTIFY_EMAIL_FROM')?.trim();
  if (from === undefined || from.length > 254 || !EMAIL.test(from)) {
    throw new ConfigError('NOTIFY_EMAIL_FROM must be the e-mail address notifications are sent from (needed with SMTP_URL)');
  }
  const events = list(env, 'NOTIFY_EMAIL_EVENTS') ?? [...DEFAULT_EMAIL_EVENT_TYPES];
  for (const event of events) {
    if (!isNotificationEventType(event)) {
      throw new ConfigError('NOTIFY_EMAIL_EVENTS must be a comma-separated list of event types (see the README, Webhooks and notifications)');
    }
  }
  return { smtpUrl, from, events: [...new Set(events)] as NotificationEventType[] };
}

function stale(env: Env): StalePolicyConfig {
  const raw = optional(env, 'STALE_EXCEPTION_POLICY') ?? 'off';
  if (raw !== 'off' && raw !== 'notify') {
    throw new ConfigError('STALE_EXCEPTION_POLICY must be one of off, notify');
  }
  return { policy: raw, unusedDays: integer(env, 'STALE_EXCEPTION_UNUSED_DAYS', 45, 1, 3650) };
}

/** Reads the notification settings (part of loadConfig). */
export function notifications(env: Env, production: boolean): NotificationsConfig {
  return {
    webhooks: webhooks(env, production),
    reminders: {
      expiryLeadDays: leadDays(env),
      approvalWaitingHours: integer(env, 'APPROVAL_WAITING_HOURS', 24, 1, 24 * 90),
    },
    stale: stale(env),
    email: email(env),
    logRetentionDays: integer(env, 'NOTIFICATION_LOG_RETENTION_DAYS', 30, 1, 3650),
  };
}
