import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { decodeWebhookSecretKey } from './notifications-config.js';

const key = Buffer.alloc(32, 5).toString('base64');
const otherKey = Buffer.alloc(32, 6).toString('hex');
const feedKey = Buffer.alloc(32, 7).toString('base64');

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('notification settings', () => {
  it('reads every variable', () => {
    expect(
      loadConfig({
        WEBHOOK_SECRET_KEY: `${key}, ${otherKey}`,
        WEBHOOK_SECRET_KEY_IN_DATABASE: 'false',
        WEBHOOK_ALLOW_PRIVATE_TARGETS: '10.20.0.0/16, 127.0.0.1,::1',
        WEBHOOK_TIMEOUT_MS: '5000',
        WEBHOOK_MAX_ATTEMPTS: '5',
        WEBHOOK_RETRY_BASE_SECONDS: '10',
        WEBHOOK_RETRY_MAX_SECONDS: '600',
        EXPIRY_REMINDER_DAYS: '1,30,7,7',
        APPROVAL_WAITING_HOURS: '8',
        STALE_EXCEPTION_POLICY: 'notify',
        STALE_EXCEPTION_UNUSED_DAYS: '60',
        SMTP_URL: 'smtps://helopass:relay-password@relay.example.net:465',
        NOTIFY_EMAIL_FROM: 'helopass@example.net',
        NOTIFY_EMAIL_EVENTS: 'exception.expiring,domain.lapsed',
        NOTIFICATION_LOG_RETENTION_DAYS: '90',
      }).notifications,
    ).toEqual({
      webhooks: {
        secretKeys: [key, otherKey],
        secretKeyInDatabase: false,
        targets: { allowPrivateRanges: false, allowedPrefixes: ['10.20.0.0/16', '127.0.0.1/32', '::1/128'] },
        timeoutMs: 5000,
        maxAttempts: 5,
        retryBaseSeconds: 10,
        retryMaxSeconds: 600,
      },
      reminders: { expiryLeadDays: [30, 7, 1], approvalWaitingHours: 8 },
      stale: { policy: 'notify', unusedDays: 60 },
      email: { smtpUrl: 'smtps://helopass:relay-password@relay.example.net:465', from: 'helopass@example.net', events: ['exception.expiring', 'domain.lapsed'] },
      logRetentionDays: 90,
    });
  });

  it('takes true and false for private targets, and "off" for no expiry reminders', () => {
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).notifications.webhooks.targets).toEqual({ allowPrivateRanges: true, allowedPrefixes: [] });
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'no' }).notifications.webhooks.targets).toEqual({ allowPrivateRanges: false, allowedPrefixes: [] });
    expect(loadConfig({ EXPIRY_REMINDER_DAYS: 'off' }).notifications.reminders.expiryLeadDays).toEqual([]);
  });

  it('with NODE_ENV=production needs WEBHOOK_SECRET_KEY, unless a generated key is explicitly allowed in the database', () => {
    expect(refusal({ NODE_ENV: 'production', FEED_SIGNING_KEY: feedKey })).toContain('WEBHOOK_SECRET_KEY must be set when NODE_ENV=production');
    expect(refusal({ NODE_ENV: 'production', FEED_SIGNING_KEY: feedKey })).toContain('WEBHOOK_SECRET_KEY_IN_DATABASE=true');
    expect(loadConfig({ NODE_ENV: 'production', FEED_SIGNING_KEY: feedKey, AUDIT_SIGNING_KEY_IN_DATABASE: 'true', WEBHOOK_SECRET_KEY: key }).notifications.webhooks).toMatchObject({
      secretKeys: [key],
      secretKeyInDatabase: false,
    });
    expect(loadConfig({ NODE_ENV: 'production', FEED_SIGNING_KEY: feedKey, AUDIT_SIGNING_KEY_IN_DATABASE: 'true', WEBHOOK_SECRET_KEY_IN_DATABASE: 'true' }).notifications.webhooks.secretKeyInDatabase).toBe(true);
    expect(refusal({ WEBHOOK_SECRET_KEY_IN_DATABASE: 'false' })).toContain('WEBHOOK_SECRET_KEY must be set when WEBHOOK_SECRET_KEY_IN_DATABASE=false');
  });

  it.each([
    [{ WEBHOOK_SECRET_KEY: 'not-a-key-but-a-secret-all-the-same' }, 'WEBHOOK_SECRET_KEY entry 1 must be 32 bytes'],
    [{ WEBHOOK_SECRET_KEY: `${key},${Buffer.alloc(16).toString('base64')}` }, 'WEBHOOK_SECRET_KEY entry 2 must be 32 bytes'],
    [{ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'sometimes' }, 'WEBHOOK_ALLOW_PRIVATE_TARGETS must be true, false, or a comma-separated list'],
    [{ WEBHOOK_RETRY_BASE_SECONDS: '600', WEBHOOK_RETRY_MAX_SECONDS: '60' }, 'WEBHOOK_RETRY_MAX_SECONDS must not be shorter'],
    [{ EXPIRY_REMINDER_DAYS: '14,seven' }, 'EXPIRY_REMINDER_DAYS must be "off" or a comma-separated list'],
    [{ STALE_EXCEPTION_POLICY: 'revoke' }, 'STALE_EXCEPTION_POLICY must be one of off, notify'],
    [{ SMTP_URL: 'https://user:hunter2@relay.example.net' }, 'SMTP_URL must be an smtp:// or smtps:// URL'],
    [{ SMTP_URL: 'smtp://relay.example.net' }, 'NOTIFY_EMAIL_FROM must be the e-mail address'],
    [{ SMTP_URL: 'smtp://relay.example.net', NOTIFY_EMAIL_FROM: 'a@example.net', NOTIFY_EMAIL_EVENTS: 'exception.expiring,everything' }, 'NOTIFY_EMAIL_EVENTS must be'],
  ])('refuses %j, naming the variable and never the value', (env, message) => {
    const said = refusal(env as Record<string, string>);
    expect(said).toContain(message);
    for (const value of Object.values(env)) {
      if (value.length > 12) {
        expect(said).not.toContain(value);
      }
    }
    expect(said).not.toContain('hunter2');
  });

  it('decodes a key given in base64, base64url or hex, and nothing else', () => {
    expect(decodeWebhookSecretKey(key)).toEqual(Buffer.alloc(32, 5));
    expect(decodeWebhookSecretKey(Buffer.alloc(32, 250).toString('base64url'))).toEqual(Buffer.alloc(32, 250));
    expect(decodeWebhookSecretKey(otherKey)).toEqual(Buffer.alloc(32, 6));
    expect(decodeWebhookSecretKey(Buffer.alloc(31).toString('base64'))).toBeUndefined();
  });
});
