import { KeyObject, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';

/**
 * Ed25519 signatures of the allowlist feed bodies (`<rendering>.sig`): the raw
 * 64-byte detached signature of the exact bytes served. See DESIGN.md, "The
 * allowlist feed", Signatures.
 */

const SEED_LENGTH = 32;
const PUBLIC_KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;

/** PKCS#8 (RFC 8410) wrapper of an Ed25519 private key: the 32-byte seed follows this prefix. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const SETTING = 'FEED_SIGNING_KEY';

export interface SigningPublicKey {
  algorithm: 'ed25519';
  /** raw 32-byte public key, standard base64 */
  base64: string;
  /** SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----") */
  pem: string;
  /** the form rspamd uses for `rspamadm signtool` / map `sign_key` settings: rspamd's base32 of the raw 32-byte key */
  rspamd: string;
}

/**
 * rspamd's own base32 ("zbase" type, `RSPAMD_BASE32_DEFAULT`), the form of
 * public keys in rspamd's configuration and `.pub` files.
 *
 * Algorithm from rspamd's `rspamd_encode_base32_buf` in `src/libutil/str_util.c`
 * (https://github.com/rspamd/rspamd): the z-base-32 alphabet, but the input is
 * read as a little-endian bit stream — each 5-bit group takes the LOWEST
 * not-yet-used bits, the low bits of a byte before its high bits, a byte's
 * leftover bits becoming the low bits of the next group. A final partial group
 * (1–4 bits) is emitted as is (high bits zero); there is no padding. RFC-style
 * z-base-32 reads bits most-significant-first and gives different text.
 * 32 bytes (256 bits) give ceil(256 / 5) = 52 characters.
 */
const RSPAMD_BASE32_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function rspamdBase32(bytes: Uint8Array): string {
  let out = '';
  let pending = 0; // unconsumed bits, the oldest in the lowest positions
  let pendingBits = 0;
  for (const byte of bytes) {
    pending |= byte << pendingBits;
    pendingBits += 8;
    while (pendingBits >= 5) {
      out += RSPAMD_BASE32_ALPHABET[pending & 0x1f];
      pending >>>= 5;
      pendingBits -= 5;
    }
  }
  if (pendingBits > 0) {
    out += RSPAMD_BASE32_ALPHABET[pending & 0x1f];
  }
  return out;
}

function settingError(problem: string): Error {
  return new Error(
    `${SETTING} ${problem}; expected the base64 or base64url encoding of a 32-byte Ed25519 seed, ` +
      `or a PKCS#8 PEM Ed25519 private key ("-----BEGIN PRIVATE KEY-----")`,
  );
}

/** Strict base64/base64url of exactly 32 bytes (43 characters, or 44 with one `=`), canonical. */
function decodeSeedText(text: string): Buffer {
  const standard = /^[A-Za-z0-9+/]{43}=?$/.test(text);
  const urlSafe = /^[A-Za-z0-9_-]{43}=?$/.test(text);
  if (!standard && !urlSafe) {
    throw settingError('is neither a 32-byte base64/base64url seed nor a PEM private key');
  }
  const seed = Buffer.from(text, standard ? 'base64' : 'base64url');
  const unpadded = text.replace(/=$/, '');
  const reencoded = seed.toString(standard ? 'base64' : 'base64url').replace(/=$/, '');
  if (seed.length !== SEED_LENGTH || reencoded !== unpadded) {
    seed.fill(0);
    throw settingError('is not a canonical base64/base64url encoding of 32 bytes');
  }
  return seed;
}

function seedFromPem(pem: string): Buffer {
  // A PEM pasted into a one-line environment variable often carries literal `\n`.
  const text = pem.includes('\\n') ? pem.replace(/(?:\\r)?\\n/g, '\n') : pem;
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
    throw settingError('is an encrypted PEM private key (not supported)');
  }
  if (!/-----BEGIN PRIVATE KEY-----/.test(text)) {
    throw settingError('is a PEM block but not an unencrypted PKCS#8 private key');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    // Node's parser message is not passed on: this text is a secret.
    throw settingError('is a PEM block that does not parse as a private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw settingError(`is a ${key.asymmetricKeyType ?? 'non-Ed25519'} private key, not Ed25519`);
  }
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string') {
    throw settingError('is a PEM key without its private part');
  }
  return Buffer.from(jwk.d, 'base64url');
}

export class FeedSigner {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly publicKey: SigningPublicKey;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    const spki = this.#publicKey.export({ format: 'der', type: 'spki' });
    const raw = spki.subarray(spki.length - PUBLIC_KEY_LENGTH);
    this.publicKey = Object.freeze({
      algorithm: 'ed25519',
      base64: raw.toString('base64'),
      pem: this.#publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      rspamd: rspamdBase32(raw),
    });
  }

  /** from a 32-byte Ed25519 seed */
  static fromSeed(seed: Buffer): FeedSigner {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
      throw new Error(`an Ed25519 seed must be exactly ${SEED_LENGTH} bytes`);
    }
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
    try {
      return new FeedSigner(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    } finally {
      der.fill(0);
    }
  }

  /**
   * parses the FEED_SIGNING_KEY setting: base64 or base64url of a 32-byte seed,
   * or a PKCS#8 PEM Ed25519 private key; throws an Error with a clear message
   * (never containing the value) when malformed
   */
  static fromSetting(text: string): FeedSigner {
    if (typeof text !== 'string' || text.trim() === '') {
      throw settingError('is empty');
    }
    const trimmed = text.trim();
    const seed = trimmed.startsWith('-----BEGIN') ? seedFromPem(trimmed) : decodeSeedText(trimmed);
    try {
      return FeedSigner.fromSeed(seed);
    } finally {
      seed.fill(0);
    }
  }

  static generate(): FeedSigner {
    const seed = randomBytes(SEED_LENGTH);
    try {
      return FeedSigner.fromSeed(seed);
    } finally {
      seed.fill(0);
    }
  }

  /** the 32-byte seed, base64url (to persist a generated key) */
  exportSeed(): string {
    const { d } = this.#privateKey.export({ format: 'jwk' });
    if (typeof d !== 'string') {
      throw new Error('the signing key has no private part');
    }
    return d; // JWK `d` of an OKP key is the seed, base64url without padding
  }

  /** raw 64-byte detached Ed25519 signature of the exact bytes */
  sign(body: Buffer): Buffer {
    return sign(null, body, this.#privateKey);
  }

  /** The same signature, computed in libuv's thread pool (a large body does not hold up the event loop). */
  signInBackground(body: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => sign(null, body, this.#privateKey, (error, signature) => (error ? reject(error) : resolve(signature))));
  }

  verify(body: Buffer, signature: Buffer): boolean {
    if (signature.length !== SIGNATURE_LENGTH) {
      return false;
    }
    return verify(null, body, this.#publicKey, signature);
  }
}
