import { describe, expect, it } from 'vitest';
import { withoutSecrets } from './returns-secret.js';

describe('withoutSecrets', () => {
  it('empties the named fields, keeps the others and says the secret was shown once', () => {
    const createdAt = new Date('2026-12-01T10:00:00Z');
    const kept = withoutSecrets({ id: 'k1', key: 'hp_secret', token: 't', createdAt }, ['key', 'token']);
    expect(kept).toEqual({ id: 'k1', key: null, token: null, createdAt, secretShownOnce: true });
    expect(JSON.stringify(kept)).not.toContain('hp_secret');
  });

  it('keeps nothing of a body it cannot empty field by field', () => {
    expect(withoutSecrets(['hp_secret'], ['key'])).toBeNull();
    expect(withoutSecrets('hp_secret', ['key'])).toBeNull();
    expect(withoutSecrets(undefined, ['key'])).toBeNull();
  });
});
