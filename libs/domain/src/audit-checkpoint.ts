import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/**
 * A signed checkpoint of the audit chain: the chain's head at a moment,
 * `{lastEventId, lastHash, count, at}`, signed with Ed25519 over its
 * canonical JSON. Copies kept outside the database (a file, an HTTP
 * receiver, an auditor's disk) show a cut tail or a restored older backup:
 * the database can no longer answer the head a checkpoint saw.
 */
export interface AuditCheckpointBody {
  /** The event of the last link (null for an empty chain). */
  lastEventId: string | null;
  lastHash: string;
  /** How many links the chain had: the last link's position. */
  count: number;
  /** ISO-8601 UTC instant the checkpoint was taken. */
  at: string;
}

export interface SignedAuditCheckpoint extends AuditCheckpointBody {
  /** Ed25519 signature of canonicalJson(body), standard base64 (64 bytes). */
  signature: string;
  /** The signer's public key, raw 32 bytes, standard base64 (for pinning it, compare with the one published). */
  publicKey: string;
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function checkpointBody(checkpoint: AuditCheckpointBody): AuditCheckpointBody {
  return { lastEventId: checkpoint.lastEventId, lastHash: checkpoint.lastHash, count: checkpoint.count, at: checkpoint.at };
}

export function signAuditCheckpoint(body: AuditCheckpointBody, privateKey: KeyObject): SignedAuditCheckpoint {
  const text = Buffer.from(canonicalJson(checkpointBody(body)), 'utf8');
  return {
    ...checkpointBody(body),
    signature: sign(null, text, privateKey).toString('base64'),
    publicKey: rawEd25519PublicKey(createPublicKey(privateKey)),
  };
}

/** Whether `signature` is `publicKey`'s (raw base64, or a PEM) over the body. Malformed input is simply false. */
export function auditCheckpointSignatureValid(checkpoint: SignedAuditCheckpoint, publicKey: string = checkpoint.publicKey): boolean {
  try {
    const key = parseEd25519PublicKey(publicKey);
    const text = Buffer.from(canonicalJson(checkpointBody(checkpoint)), 'utf8');
    return verify(null, text, key, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

export function rawEd25519PublicKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length).toString('base64');
}

export function parseEd25519PublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    return createPublicKey(trimmed);
  }
  const raw = Buffer.from(trimmed, 'base64');
  if (raw.length !== 32) {
    throw new Error('an Ed25519 public key is 32 bytes (base64) or a PEM');
  }
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** An Ed25519 private key from a base64 32-byte seed or a PKCS#8 PEM; throws a plain message (never the value). */
export function parseEd25519PrivateKey(text: string, setting: string): KeyObject {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      const key = createPrivateKey(trimmed);
      if (key.asymmetricKeyType !== 'ed25519') {
        throw new Error('not ed25519');
      }
      return key;
    }
    const seed = Buffer.from(trimmed, 'base64');
    if (seed.length !== 32) {
      throw new Error('not 32 bytes');
    }
    return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  } catch {
    throw new Error(`${setting} must be base64 of a 32-byte Ed25519 seed, or a PKCS#8 PEM of an Ed25519 key`);
  }
}
