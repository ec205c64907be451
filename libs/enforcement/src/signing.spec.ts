import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { FeedSigner, rspamdBase32 } from './signing.js';

// RFC 8032, section 7.1, TEST 1 (empty message).
const RFC8032_SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const RFC8032_PUBLIC = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
const RFC8032_SIGNATURE = Buffer.from(
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  'hex',
);

const BODY = Buffer.from('# helopass allowlist version 42\n192.0.2.10/32 OK\n2001:db8::/64 OK\n', 'utf8');

/** Verification by an implementation that shares nothing with node:crypto/OpenSSL. */
function naclVerifies(signer: FeedSigner, body: Buffer, signature: Buffer): boolean {
  const publicKeyRaw = Buffer.from(signer.publicKey.base64, 'base64');
  return nacl.sign.detached.verify(body, signature, publicKeyRaw);
}

/**
 * A second, deliberately naive formulation of rspamd's base32 for cross-checks:
 * lay all input bits out as a little-endian bit stream (byte 0 bit 0 first),
 * then cut it into 5-bit groups, each group's first bit being its least significant.
 */
function rspamdBase32Naive(bytes: Uint8Array): string {
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769';
  const bits: number[] = [];
  for (const byte of bytes) {
    for (let i = 0; i < 8; i++) bits.push((byte >> i) & 1);
  }
  let out = '';
  for (let start = 0; start < bits.length; start += 5) {
    let value = 0;
    bits.slice(start, start + 5).forEach((bit, i) => (value |= bit << i));
    out += alphabet[value];
  }
  return out;
}

/** Inverse of rspamd's base32, after rspamd_decode_base32_buf (used only to check round trips). */
function rspamdBase32Decode(text: string): Buffer {
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769';
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const value = alphabet.indexOf(ch);
    if (value < 0) throw new Error('not rspamd base32');
    acc |= value << bits;
    bits += 5;
    if (bits >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

describe('rspamdBase32', () => {
  it("matches rspamd's own unit test vectors (test/lua/unit/base32.lua, default type)", () => {
    expect(rspamdBase32(Buffer.from('test123'))).toBe('wm3g84fg13cy');
    expect(rspamdBase32(Buffer.from('hello'))).toBe('em3ags7p');
  });

  it('follows the hand-worked bit order: low bits first', () => {
    // [0x01]: low 5 bits 00001 = 1 -> 'b'; the 3 high bits 000 -> 'y'.  => "by"
    // (RFC z-base-32, most significant bits first, would give 00000|001(00) = "yr".)
    expect(rspamdBase32(Uint8Array.of(0x01))).toBe('by');
    // [0x01, 0x02] = bit stream value 0x0201: 0x0201 & 31 = 1 -> 'b';
    // (0x0201 >> 5) & 31 = 16 -> 'o'; (0x0201 >> 10) & 31 = 0 -> 'y'; last bit 0 -> 'y'.  => "boyy"
    expect(rspamdBase32(Uint8Array.of(0x01, 0x02))).toBe('boyy');
    expect(rspamdBase32(Uint8Array.of(0xff))).toBe('98'); // 11111 = 31 -> '9', then 111 = 7 -> '8'
    expect(rspamdBase32(new Uint8Array(0))).toBe('');
  });

  it('agrees with a naive bit-stream formulation and round-trips for every length 0..40', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = randomBytes(length);
      const encoded = rspamdBase32(bytes);
      expect(encoded).toBe(rspamdBase32Naive(bytes));
      expect(encoded).toHaveLength(Math.ceil((length * 8) / 5));
      expect(rspamdBase32Decode(encoded).subarray(0, length).equals(bytes)).toBe(true);
    }
  });

  it('encodes a 32-byte key as 52 characters of the z-base-32 alphabet', () => {
    const encoded = rspamdBase32(RFC8032_PUBLIC);
    expect(encoded).toHaveLength(52);
    expect(encoded).toMatch(/^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/);
    expect(rspamdBase32Decode(encoded).subarray(0, 32).equals(RFC8032_PUBLIC)).toBe(true);
  });
});

describe('FeedSigner', () => {
  it('makes 64-byte signatures that an independent implementation (tweetnacl) verifies', () => {
    const signer = FeedSigner.generate();
    const signature = signer.sign(BODY);
    expect(signature).toHaveLength(64);
    expect(naclVerifies(signer, BODY, signature)).toBe(true);
    expect(signer.verify(BODY, signature)).toBe(true);
  });

  it('signs the exact bytes: a one-byte change of the body fails verification', () => {
    const signer = FeedSigner.generate();
    const signature = signer.sign(BODY);
    for (const index of [0, Math.floor(BODY.length / 2), BODY.length - 1]) {
      const changed = Buffer.from(BODY);
      changed[index] ^= 0x01;
      expect(naclVerifies(signer, changed, signature)).toBe(false);
      expect(signer.verify(changed, signature)).toBe(false);
    }
    const changedSignature = Buffer.from(signature);
    changedSignature[10] ^= 0x80;
    expect(signer.verify(BODY, changedSignature)).toBe(false);
    expect(signer.verify(BODY, signature.subarray(0, 63))).toBe(false);
    expect(FeedSigner.generate().verify(BODY, signature)).toBe(false);
  });

  it('is deterministic from a seed (RFC 8032 test vector 1)', () => {
    const signer = FeedSigner.fromSeed(RFC8032_SEED);
    expect(Buffer.from(signer.publicKey.base64, 'base64').equals(RFC8032_PUBLIC)).toBe(true);
    expect(signer.publicKey.algorithm).toBe('ed25519');
    expect(signer.sign(Buffer.alloc(0)).equals(RFC8032_SIGNATURE)).toBe(true);
    expect(nacl.sign.detached.verify(new Uint8Array(0), RFC8032_SIGNATURE, RFC8032_PUBLIC)).toBe(true);
    expect(FeedSigner.fromSeed(Buffer.from(RFC8032_SEED)).sign(BODY).equals(signer.sign(BODY))).toBe(true);
    expect(signer.publicKey.rspamd).toBe(rspamdBase32(RFC8032_PUBLIC));
    expect(signer.exportSeed()).toBe(RFC8032_SEED.toString('base64url'));
  });

  it('agrees with tweetnacl on the public key derived from a seed', () => {
    const seed = randomBytes(32);
    const signer = FeedSigner.fromSeed(seed);
    const naclPair = nacl.sign.keyPair.fromSeed(seed);
    expect(Buffer.from(naclPair.publicKey).toString('base64')).toBe(signer.publicKey.base64);
    expect(Buffer.from(nacl.sign.detached(BODY, naclPair.secretKey)).equals(signer.sign(BODY))).toBe(true);
  });

  it('refuses a seed that is not 32 bytes', () => {
    expect(() => FeedSigner.fromSeed(Buffer.alloc(31))).toThrow(/32 bytes/);
    expect(() => FeedSigner.fromSeed(Buffer.alloc(64))).toThrow(/32 bytes/);
  });

  it('exports a generated seed that restores the same key', () => {
    const signer = FeedSigner.generate();
    const exported = signer.exportSeed();
    expect(exported).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const restored = FeedSigner.fromSetting(exported);
    expect(restored.publicKey).toEqual(signer.publicKey);
    expect(FeedSigner.generate().publicKey.base64).not.toBe(signer.publicKey.base64);
  });

  it('publishes a PEM that round-trips through crypto.createPublicKey', () => {
    const signer = FeedSigner.fromSeed(RFC8032_SEED);
    expect(signer.publicKey.pem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    const key = createPublicKey(signer.publicKey.pem);
    expect(key.asymmetricKeyType).toBe('ed25519');
    const spki = key.export({ format: 'der', type: 'spki' });
    expect(spki.subarray(spki.length - 32).equals(RFC8032_PUBLIC)).toBe(true);
    expect(key.export({ format: 'pem', type: 'spki' })).toBe(signer.publicKey.pem);
  });

  it('does not show the private key when inspected or serialized', () => {
    const signer = FeedSigner.fromSeed(RFC8032_SEED);
    for (const encoding of ['base64', 'base64url', 'hex'] as const) {
      const form = RFC8032_SEED.toString(encoding);
      expect(JSON.stringify(signer)).not.toContain(form);
      expect(inspect(signer, { depth: 5 })).not.toContain(form);
    }
  });
});

describe('FeedSigner.fromSetting', () => {
  const expected = FeedSigner.fromSeed(RFC8032_SEED).publicKey;

  it('accepts standard base64 of the seed, padded or not, with surrounding whitespace', () => {
    const text = RFC8032_SEED.toString('base64');
    expect(text).toMatch(/[+/]/); // this seed exercises the standard-only characters
    expect(FeedSigner.fromSetting(text).publicKey).toEqual(expected);
    expect(FeedSigner.fromSetting(text.replace(/=$/, '')).publicKey).toEqual(expected);
    expect(FeedSigner.fromSetting(`  ${text}\n`).publicKey).toEqual(expected);
  });

  it('accepts base64url of the seed', () => {
    const text = RFC8032_SEED.toString('base64url');
    expect(text).toMatch(/[-_]/);
    expect(FeedSigner.fromSetting(text).publicKey).toEqual(expected);
  });

  it('accepts a PKCS#8 PEM Ed25519 private key, also with literal \\n escapes', () => {
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), RFC8032_SEED]);
    const pem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
    expect(FeedSigner.fromSetting(pem).publicKey).toEqual(expected);
    expect(FeedSigner.fromSetting(pem.replace(/\n/g, '\\n')).publicKey).toEqual(expected);
    expect(FeedSigner.fromSetting(pem.replace(/\n/g, '\\r\\n')).publicKey).toEqual(expected);

    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const fromOpenssl = FeedSigner.fromSetting(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    expect(fromOpenssl.publicKey.pem).toBe(publicKey.export({ format: 'pem', type: 'spki' }).toString());
  });

  const seedHex = RFC8032_SEED.toString('hex');
  const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  const publicPem = FeedSigner.fromSeed(RFC8032_SEED).publicKey.pem;
  const brokenPem = `-----BEGIN PRIVATE KEY-----\n${RFC8032_SEED.toString('base64')}\n-----END PRIVATE KEY-----`;
  const garbage: Array<[string, string]> = [
    ['empty', ''],
    ['blank', '   \n'],
    ['words', 'correct horse battery staple'],
    ['hex seed', seedHex],
    ['31-byte base64', randomBytes(31).toString('base64')],
    ['33-byte base64url', randomBytes(33).toString('base64url')],
    ['64-byte base64', randomBytes(64).toString('base64')],
    ['mixed alphabets', `${RFC8032_SEED.toString('base64').slice(0, 39)}-_+/`],
    ['non-canonical trailing bits', `${RFC8032_SEED.toString('base64url').slice(0, 42)}B`],
    ['RSA private key', rsaPem],
    ['public key PEM', publicPem],
    ['broken PEM', brokenPem],
    ['encrypted PEM', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n'],
  ];

  it.each(garbage)('refuses %s with a message that does not contain the value', (_name, text) => {
    let error: unknown;
    try {
      FeedSigner.fromSetting(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^FEED_SIGNING_KEY /);
    const secret = text.trim();
    if (secret.length > 0) {
      expect(message).not.toContain(secret);
      // nor any telling piece of it
      for (let start = 0; start + 12 <= secret.length; start += 6) {
        const piece = secret.slice(start, start + 12);
        // (pieces with blanks or dashes may be PEM armour words the message names)
        if (/^[^\s-]+$/.test(piece)) expect(message).not.toContain(piece);
      }
    }
  });
});
