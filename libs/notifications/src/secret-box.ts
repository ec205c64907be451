import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A sealed secret, and the id of the key that sealed it. */
export interface Sealed {
  readonly sealed: string;
  readonly keyId: string;
}

/** The secret cannot be opened: no configured key has this id, or the ciphertext was altered. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

const VERSION = 'v1';
const IV_BYTES = 12;

/** First 16 hex digits of the key's SHA-256: names a key without revealing it. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Webhook signing secrets at rest. HMAC needs the secret itself, so it cannot
 * be kept as a hash like API keys: it is encrypted with AES-256-GCM under a
 * key that lives outside the database (WEBHOOK_SECRET_KEY), bound to its row
 * (the subscription id is the additional authenticated data, so a sealed
 * secret copied onto another row does not open). The first key seals; every
 * key opens what it sealed, so keys can be rotated.
 */
export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: { id: string; key: Buffer };

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0 || keys.some((key) => key.length !== 32)) {
      throw new Error('SecretBox needs at least one 32-byte key');
    }
    this.keys = new Map(keys.map((key) => [keyIdOf(key), key]));
    this.current = { id: keyIdOf(keys[0]!), key: keys[0]! };
  }

  seal(secret: string, boundTo: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const sealed = [VERSION, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
    return { sealed, keyId: this.current.id };
  }

  open(sealed: Sealed, boundTo: string): string {
    const key = this.keys.get(sealed.keyId);
    if (key === undefined) {
      throw new SecretUnavailableError('the secret was sealed with a WEBHOOK_SECRET_KEY that is no longer configured');
    }
    const [version, iv, tag, ciphertext] = sealed.sealed.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new SecretUnavailableError('the sealed secret is not in a known format');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnavailableError('the sealed secret does not open: it was altered or belongs to another subscription');
    }
  }
}
