import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys travel inside map URLs (`http://rspamd:KEY@host/...`), which rspamd
 * does not percent-decode, so they use URL-safe characters only.
 */
export const API_KEY_PATTERN = /^[A-Za-z0-9_-]+$/;
export const API_KEY_MIN_LENGTH = 32;
export const API_KEY_MAX_LENGTH = 128;
const GENERATED_PREFIX = 'hp_';
/** How many leading characters identify a key (shown in listings, used for lookup). */
export const API_KEY_PREFIX_LENGTH = 11;

/** A new key: `hp_` and 256 random bits in base64url. */
export function generateApiKeySecret(): string {
  return GENERATED_PREFIX + randomBytes(32).toString('base64url');
}

export function isWellFormedApiKey(secret: string): boolean {
  return (
    secret.length >= API_KEY_MIN_LENGTH && secret.length <= API_KEY_MAX_LENGTH && API_KEY_PATTERN.test(secret)
  );
}

export function apiKeyPrefix(secret: string): string {
  return secret.slice(0, API_KEY_PREFIX_LENGTH);
}

/**
 * Keys carry at least 128 random bits, so a fast hash is safe here; a slow
 * password hash would only cost every request time.
 */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function apiKeyHashMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiKeySecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
