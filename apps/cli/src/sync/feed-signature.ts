import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The feed's Ed25519 public key as an operator hands it to the agent: the
 * `base64` (raw 32 bytes) or `pem` (SPKI) field of `GET /v1/allowlist/signing-key`,
 * or the path of a file holding either. See DESIGN.md, "The allowlist feed",
 * Signatures.
 */
export function parseFeedPublicKey(value: string): KeyObject {
  const text = value.trim();
  if (text === '') {
    throw new Error('--public-key is empty');
  }
  const inline = fromText(text);
  if (inline) {
    return inline;
  }
  let content: string;
  try {
    content = readFileSync(text, 'utf8').trim();
  } catch {
    throw new Error(
      '--public-key is neither a base64 Ed25519 public key (32 bytes), nor a PEM public key, nor a readable file holding one',
    );
  }
  const fromFile = fromText(content);
  if (!fromFile) {
    throw new Error(`--public-key file ${text} holds neither a base64 Ed25519 public key (32 bytes) nor a PEM public key`);
  }
  return fromFile;
}

function fromText(text: string): KeyObject | undefined {
  if (text.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: text, format: 'pem' });
    } catch {
      throw new Error('--public-key is a PEM block that does not parse as a public key');
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new Error(`--public-key is a ${key.asymmetricKeyType ?? 'non-Ed25519'} key, not Ed25519`);
    }
    return key;
  }
  const standard = /^[A-Za-z0-9+/]{43}=?$/.test(text);
  const urlSafe = /^[A-Za-z0-9_-]{43}=?$/.test(text);
  if (!standard && !urlSafe) {
    return undefined;
  }
  const raw = Buffer.from(text, standard ? 'base64' : 'base64url');
  if (raw.length !== 32) {
    return undefined;
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** Whether `signature` is a valid raw 64-byte Ed25519 signature of exactly `body`. */
export function verifyFeedSignature(body: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  if (signature.length !== 64) {
    return false;
  }
  try {
    return verify(null, body, publicKey, signature);
  } catch {
    return false;
  }
}
