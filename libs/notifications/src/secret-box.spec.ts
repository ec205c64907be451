import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdOf, SecretBox, SecretUnavailableError } from './secret-box.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const subscription = '7b0e5f1c-6a63-4a8e-9d3f-1f6ad4c1a001';

describe('SecretBox', () => {
  it('seals a secret so that only its key opens it, bound to its row', () => {
    const key = randomBytes(32);
    const box = new SecretBox([key]);
    const sealed = box.seal(secret, subscription);
    expect(sealed.keyId).toBe(keyIdOf(key));
    expect(sealed.sealed).not.toContain(secret.slice(6));
    expect(box.open(sealed, subscription)).toBe(secret);
    // Copied onto another row, it does not open.
    expect(() => box.open(sealed, '7b0e5f1c-6a63-4a8e-9d3f-1f6ad4c1a002')).toThrow(SecretUnavailableError);
  });

  it('never seals the same secret to the same text twice (a fresh IV each time)', () => {
    const box = new SecretBox([randomBytes(32)]);
    expect(box.seal(secret, subscription).sealed).not.toBe(box.seal(secret, subscription).sealed);
  });

  it('refuses an altered ciphertext', () => {
    const box = new SecretBox([randomBytes(32)]);
    const sealed = box.seal(secret, subscription);
    const parts = sealed.sealed.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    parts[3] = flipped.toString('base64url');
    expect(() => box.open({ ...sealed, sealed: parts.join('.') }, subscription)).toThrow(SecretUnavailableError);
  });

  it('rotates: a new first key seals, the old one still opens what it sealed; a missing key is named, not guessed', () => {
    const old = randomBytes(32);
    const fresh = randomBytes(32);
    const before = new SecretBox([old]).seal(secret, subscription);
    const rotated = new SecretBox([fresh, old]);
    expect(rotated.open(before, subscription)).toBe(secret);
    expect(rotated.seal(secret, subscription).keyId).toBe(keyIdOf(fresh));
    expect(() => new SecretBox([fresh]).open(before, subscription)).toThrow('no longer configured');
  });
});
