import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The feed's Ed25519 public keys as an operator hands them to the agent: the
 * `base64` (raw 32 bytes) or `pem` (SPKI) field of `GET /v1/allowlist/signing-key`,
 * or the path of a file holding one or more of them (PEM blocks, or one base64
 * key a line). More than one key is trusted during a rotation: the current key
 * and the staged `next` one, so a body signed by either is accepted (README,
 * "Rotating the feed's signing key"). See DESIGN.md, "The allowlist feed", Signatures.
 */
export function parseFeedPublicKeys(value: string): KeyObject[] {
  const text = value.trim();
  if (text === '') {
    throw new Error('--public-key is empty');
  }
  const inline = fromText(text);
  if (inline) {
    return [inline];
  }
  let content: string;
  try {
    content = readFileSync(text, 'utf8');
  } catch {
    throw new Error(
      '--public-key is neither a base64 Ed25519 public key (32 bytes), nor a PEM public key, nor a readable file holding one',
    );
  }
  const keys = keysInFile(content, text);
  if (keys.length === 0) {
    throw new Error(`--public-key file ${text} holds neither a base64 Ed25519 public key (32 bytes) nor a PEM public key`);
  }
  return keys;
}

/** Every PEM block, then every other non-blank, non-comment line (a base64 key each). */
function keysInFile(content: string, path: string): KeyObject[] {
  const pemBlocks = content.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
  const rest = content
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const keys: KeyObject[] = [];
  for (const entry of [...pemBlocks, ...rest]) {
    const key = fromText(entry);
    if (!key) {
      throw new Error(`--public-key file ${path} holds a line that is neither a base64 Ed25519 public key (32 bytes) nor a PEM public key`);
    }
    keys.push(key);
  }
  return keys;
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

/** Whether `signature` is a valid raw 64-byte Ed25519 signature of exactly `body` by one of `publicKeys`. */
export function verifyFeedSignature(body: Buffer, signature: Buffer, publicKeys: readonly KeyObject[]): boolean {
  if (signature.length !== 64) {
    return false;
  }
  return publicKeys.some((publicKey) => {
    try {
      return verify(null, body, publicKey, signature);
    } catch {
      return false;
    }
  });
}
