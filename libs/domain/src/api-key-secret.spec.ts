import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_MAX_LENGTH,
  API_KEY_MIN_LENGTH,
  API_KEY_PATTERN,
  API_KEY_PREFIX_LENGTH,
  apiKeyHashMatches,
  apiKeyPrefix,
  generateApiKeySecret,
  hashApiKeySecret,
  isWellFormedApiKey,
} from './api-key-secret.js';

describe('generateApiKeySecret', () => {
  const keys = Array.from({ length: 200 }, () => generateApiKeySecret());

  it('starts with hp_', () => {
    for (const key of keys) {
      expect(key.startsWith('hp_')).toBe(true);
    }
  });

  it('uses URL-safe characters only, so rspamd can send it as Basic credentials without percent-decoding', () => {
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(encodeURIComponent(key)).toBe(key);
    }
  });

  it('carries at least 128 random bits', () => {
    for (const key of keys) {
      // Each base64url character carries 6 bits.
      const randomPart = key.slice('hp_'.length);
      expect(randomPart.length * 6).toBeGreaterThanOrEqual(128);
    }
  });

  it('is well formed by its own rules', () => {
    for (const key of keys) {
      expect(isWellFormedApiKey(key)).toBe(true);
    }
  });

  it('never repeats', () => {
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys.map(apiKeyPrefix)).size).toBe(keys.length);
  });

  it('uses the whole alphabet over many keys (not, say, hex only)', () => {
    const seen = new Set(keys.join('').slice(0));
    expect([...seen].some((c) => /[G-Zg-z]/.test(c))).toBe(true);
    expect([...seen].some((c) => /[A-F]/.test(c))).toBe(true);
  });
});

describe('hashApiKeySecret', () => {
  it('answers 64 lowercase hex characters', () => {
    expect(hashApiKeySecret(generateApiKeySecret())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the SHA-256 of the key', () => {
    expect(hashApiKeySecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('is deterministic and does not contain the key', () => {
    const key = generateApiKeySecret();
    expect(hashApiKeySecret(key)).toBe(hashApiKeySecret(key));
    expect(hashApiKeySecret(key)).not.toContain(key.slice(3));
  });

  it('differs for different keys, even by one character', () => {
    const key = 'hp_' + 'a'.repeat(43);
    expect(hashApiKeySecret(key)).not.toBe(hashApiKeySecret(key.slice(0, -1) + 'b'));
  });

  it('hashes the UTF-8 bytes', () => {
    expect(hashApiKeySecret('ü')).toBe(createHash('sha256').update(Buffer.from('ü', 'utf8')).digest('hex'));
  });
});

describe('apiKeyHashMatches', () => {
  const key = generateApiKeySecret();
  const stored = hashApiKeySecret(key);

  it('is true for the key the hash was made from', () => {
    expect(apiKeyHashMatches(key, stored)).toBe(true);
  });

  it('is false for another key', () => {
    expect(apiKeyHashMatches(generateApiKeySecret(), stored)).toBe(false);
  });

  it('is false for the key with a changed last character', () => {
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect(apiKeyHashMatches(key.slice(0, -1) + last, stored)).toBe(false);
  });

  it('is false for a prefix of the key and for the empty string', () => {
    expect(apiKeyHashMatches(apiKeyPrefix(key), stored)).toBe(false);
    expect(apiKeyHashMatches('', stored)).toBe(false);
  });

  it('is false, not an exception, for a malformed stored hash', () => {
    expect(apiKeyHashMatches(key, '')).toBe(false);
    expect(apiKeyHashMatches(key, 'not hex at all')).toBe(false);
    expect(apiKeyHashMatches(key, stored.slice(0, 32))).toBe(false);
  });

  it('is false when the key itself is given instead of its hash', () => {
    expect(apiKeyHashMatches(key, key)).toBe(false);
  });
});

describe('isWellFormedApiKey', () => {
  it('uses the documented bounds', () => {
    expect(API_KEY_MIN_LENGTH).toBeGreaterThanOrEqual(22); // 22 base64url characters ≈ 128 bits
    expect(API_KEY_MAX_LENGTH).toBeGreaterThanOrEqual(API_KEY_MIN_LENGTH);
  });

  it('accepts exactly the minimum and the maximum length', () => {
    expect(isWellFormedApiKey('a'.repeat(API_KEY_MIN_LENGTH))).toBe(true);
    expect(isWellFormedApiKey('Z'.repeat(API_KEY_MAX_LENGTH))).toBe(true);
  });

  it('refuses one character too short or too long', () => {
    expect(isWellFormedApiKey('a'.repeat(API_KEY_MIN_LENGTH - 1))).toBe(false);
    expect(isWellFormedApiKey('a'.repeat(API_KEY_MAX_LENGTH + 1))).toBe(false);
    expect(isWellFormedApiKey('')).toBe(false);
  });

  it('accepts letters, digits, "_" and "-"', () => {
    expect(isWellFormedApiKey('Ab0_-'.repeat(8))).toBe(true);
  });

  it.each(['+', '/', '=', '.', '~', ' ', '%', ':', '@', 'ü', '\n'])('refuses a key containing %j', (char) => {
    const key = 'a'.repeat(API_KEY_MIN_LENGTH) + char;
    expect(isWellFormedApiKey(key)).toBe(false);
  });

  it('refuses a trailing newline (the pattern is anchored)', () => {
    expect(API_KEY_PATTERN.test('abc\n')).toBe(false);
  });
});

describe('apiKeyPrefix', () => {
  it('answers the first characters, which include the hp_ marker', () => {
    const key = generateApiKeySecret();
    const prefix = apiKeyPrefix(key);
    expect(prefix).toHaveLength(API_KEY_PREFIX_LENGTH);
    expect(key.startsWith(prefix)).toBe(true);
    expect(prefix.startsWith('hp_')).toBe(true);
  });

  it('reveals far less than the key', () => {
    const key = generateApiKeySecret();
    expect(key.length - apiKeyPrefix(key).length).toBeGreaterThanOrEqual(22);
  });
});
