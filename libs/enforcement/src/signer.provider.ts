import { Injectable, Logger, type Provider } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { DatabaseUnavailableError, databaseUnavailability, PrismaService } from '@app/database';
import { FeedSigner, type SigningPublicKey } from './signing.js';

export const FEED_SIGNER = Symbol('FEED_SIGNER');
/** The public half of FEED_SIGNING_KEY_NEXT (null when none is staged): published, never used to sign. */
export const FEED_NEXT_PUBLIC_KEY = Symbol('FEED_NEXT_PUBLIC_KEY');

/** What signs the renderings (FeedSigner, or the generated key still to be read from the database). */
export type FeedSigning = Pick<FeedSigner, 'publicKey' | 'sign' | 'signInBackground' | 'verify'>;

/** How often the generated key is asked for again while the database cannot be reached. */
const KEY_RETRY_MS = 2000;

/** The only place that reads and writes the generated signing key. */
@Injectable()
export class FeedSigningKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The stored seed; `candidate` is stored first when there is none (the first process to start wins). */
  async seed(candidate: string): Promise<string> {
    await this.prisma.$executeRaw`INSERT INTO feed_signing_key (id, seed) VALUES (1, ${candidate}) ON CONFLICT (id) DO NOTHING`;
    return (await this.prisma.feedSigningKey.findUniqueOrThrow({ where: { id: 1 } })).seed;
  }
}

/**
 * The generated key while the database that keeps it cannot be reached (a
 * process started during an outage): it is read again every few seconds;
 * meanwhile signing fails with DatabaseUnavailableError (the feed serves the
 * signatures kept with the snapshot on disk, which need no key).
 */
class SignerOnceReachable implements FeedSigning {
  private readonly logger = new Logger('FeedSigner');
  private signer: FeedSigner | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly fetch: () => Promise<FeedSigner>) {
    this.retry();
  }

  private retry(): void {
    this.timer = setTimeout(() => {
      this.fetch().then(
        (signer) => {
          this.signer = signer;
          this.logger.log('the feed signing key was read from the database');
        },
        () => this.retry(),
      );
    }, KEY_RETRY_MS);
    this.timer.unref();
  }

  private ready(): FeedSigner {
    if (this.signer === undefined) {
      throw new DatabaseUnavailableError('unreachable', 'the feed signing key is kept in the database, which cannot be reached yet');
    }
    return this.signer;
  }

  get publicKey(): SigningPublicKey {
    return this.ready().publicKey;
  }
  sign(body: Buffer): Buffer {
    return this.ready().sign(body);
  }
  signInBackground(body: Buffer): Promise<Buffer> {
    return this.ready().signInBackground(body);
  }
  verify(body: Buffer, signature: Buffer): boolean {
    return this.ready().verify(body, signature);
  }
}

/**
 * The key that signs the renderings: FEED_SIGNING_KEY when set (recommended
 * in production: the key then lives only in the deployment's secrets);
 * otherwise one generated on first start and kept in the database, so that
 * every replica signs with the same key — only where that is allowed
 * (FEED_SIGNING_KEY_IN_DATABASE; not by default with NODE_ENV=production).
 * A process that starts while the database cannot be reached starts all the
 * same, and reads the generated key once it can.
 */
export const feedSignerProvider: Provider = {
  provide: FEED_SIGNER,
  inject: [HELOPASS_CONFIG, FeedSigningKeyRepository],
  useFactory: async (config: HeloPassConfig, keys: FeedSigningKeyRepository): Promise<FeedSigning> => {
    if (config.feed.signingKey !== undefined) {
      return FeedSigner.fromSetting(config.feed.signingKey);
    }
    if (!config.feed.signingKeyInDatabase) {
      throw new Error('FEED_SIGNING_KEY is not set and FEED_SIGNING_KEY_IN_DATABASE does not allow generating one');
    }
    const fetch = async () => FeedSigner.fromSetting(await keys.seed(FeedSigner.generate().exportSeed()));
    try {
      return await fetch();
    } catch (error) {
      if (databaseUnavailability(error) === undefined) {
        throw error;
      }
      return new SignerOnceReachable(fetch);
    }
  },
};

/**
 * The key staged for the next rotation (FEED_SIGNING_KEY_NEXT). Only its
 * public half is kept: it is published beside the current key so that mail
 * hosts can trust both before it starts signing (README, "Rotating the feed's
 * signing key").
 */
export const feedNextPublicKeyProvider: Provider = {
  provide: FEED_NEXT_PUBLIC_KEY,
  inject: [HELOPASS_CONFIG, FEED_SIGNER],
  useFactory: (config: HeloPassConfig, current: FeedSigning): SigningPublicKey | null => {
    if (config.feed.nextSigningKey === undefined) {
      return null;
    }
    const next = FeedSigner.fromSetting(config.feed.nextSigningKey).publicKey;
    // The same key in another encoding (PEM and base64) is no rotation; the database's generated key may be the same too
    // (compared once it can be read: a process started while the database is down cannot tell yet).
    if (next.base64 === currentPublicKeyIfReadable(current)?.base64) {
      throw new Error('FEED_SIGNING_KEY_NEXT is the key that signs now; stage a new key, or unset it');
    }
    return next;
  },
};

/** The signing key's public half, or undefined while the generated key cannot be read from the database yet. */
function currentPublicKeyIfReadable(current: FeedSigning): SigningPublicKey | undefined {
  try {
    return current.publicKey;
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) {
      return undefined;
    }
    throw error;
  }
}
