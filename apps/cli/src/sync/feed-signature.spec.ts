import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFeedPublicKeys, verifyFeedSignature } from './feed-signature.js';

const parseFeedPublicKey = (value: string) => {
  const keys = parseFeedPublicKeys(value);
  expect(keys).toHaveLength(1);
  return keys[0]!;
};

describe('parseFeedPublicKeys', () => {
  it('takes base64, PEM, or a file holding either, and refuses other text', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    expect(parseFeedPublicKey(raw).equals(publicKey)).toBe(true);
    expect(parseFeedPublicKey(pem).equals(publicKey)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'helopass-key-'));
    try {
      await writeFile(join(dir, 'feed.pub'), pem);
      expect(parseFeedPublicKey(join(dir, 'feed.pub')).equals(publicKey)).toBe(true);
      await writeFile(join(dir, 'feed.b64'), `${raw}\n`);
      expect(parseFeedPublicKey(join(dir, 'feed.b64')).equals(publicKey)).toBe(true);
    } finally {
      await rm(dir, { recursive: true });
    }
    expect(() => parseFeedPublicKey('not-a-key')).toThrow(/neither/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => parseFeedPublicKey(rsa)).toThrow(/rsa key, not Ed25519/);
  });

  it('takes every key of a file holding the current and the next key (PEM blocks, base64 lines, comments)', async () => {
    const current = generateKeyPairSync('ed25519').publicKey;
    const next = generateKeyPairSync('ed25519').publicKey;
    const raw = (key: typeof next) => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    const dir = await mkdtemp(join(tmpdir(), 'helopass-key-'));
    try {
      await writeFile(join(dir, 'both.pub'), `${current.export({ format: 'pem', type: 'spki' })}\n# next, staged 2026-12-15\n${raw(next)}\n`);
      const keys = parseFeedPublicKeys(join(dir, 'both.pub'));
      expect(keys.map((key) => raw(key))).toEqual([raw(current), raw(next)]);
      await writeFile(join(dir, 'bad.pub'), `${raw(current)}\nnot-a-key\n`);
      expect(() => parseFeedPublicKeys(join(dir, 'bad.pub'))).toThrow(/holds a line that is neither/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('verifyFeedSignature', () => {
  it('holds for exactly the signed bytes and the signing key', () => {
    const key = generateKeyPairSync('ed25519');
    const body = Buffer.from('# HeloPass allowlist postfix-cidr: version 1, as of 2026-11-28T12:00:00.000Z, 0 entries\n');
    const signature = sign(null, body, key.privateKey);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifyFeedSignature(body, signature, [key.publicKey])).toBe(true);
    expect(verifyFeedSignature(body, signature, [other, key.publicKey])).toBe(true);
    expect(verifyFeedSignature(Buffer.concat([body, Buffer.from('0.0.0.0/0 OK\n')]), signature, [key.publicKey])).toBe(false);
    expect(verifyFeedSignature(body, signature, [other])).toBe(false);
    expect(verifyFeedSignature(body, signature, [])).toBe(false);
    expect(verifyFeedSignature(body, signature.subarray(0, 63), [key.publicKey])).toBe(false);
  });
});
