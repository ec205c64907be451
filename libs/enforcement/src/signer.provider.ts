import { Injectable, type Provider } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { PrismaService } from '@app/database';
import { FeedSigner, type SigningPublicKey } from './signing.js';

export const FEED_SIGNER = Symbol('FEED_SIGNER');
/** The public half of FEED_SIGNING_KEY_NEXT (null when none is staged): published, never used to sign. */
export const FEED_NEXT_PUBLIC_KEY = Symbol('FEED_NEXT_PUBLIC_KEY');

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
 * The key that signs the renderings: FEED_SIGNING_KEY when set (recommended
 * in production: the key then lives only in the deployment's secrets);
 * otherwise one generated on first start and kept in the database, so that
 * every replica signs with the same key — only where that is allowed
 * (FEED_SIGNING_KEY_IN_DATABASE; not by default with NODE_ENV=production).
 */
export const feedSignerProvider: Provider = {
  provide: FEED_SIGNER,
  inject: [HELOPASS_CONFIG, FeedSigningKeyRepository],
  useFactory: async (config: HeloPassConfig, keys: FeedSigningKeyRepository): Promise<FeedSigner> => {
    if (config.feed.signingKey !== undefined) {
      return FeedSigner.fromSetting(config.feed.signingKey);
    }
    if (!config.feed.signingKeyInDatabase) {
      throw new Error('FEED_SIGNING_KEY is not set and FEED_SIGNING_KEY_IN_DATABASE does not allow generating one');
    }
    return FeedSigner.fromSetting(await keys.seed(FeedSigner.generate().exportSeed()));
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
  useFactory: (config: HeloPassConfig, current: FeedSigner): SigningPublicKey | null => {
    if (config.feed.nextSigningKey === undefined) {
      return null;
    }
    const next = FeedSigner.fromSetting(config.feed.nextSigningKey).publicKey;
    // The same key in another encoding (PEM and base64) is no rotation; the database's generated key may be the same too.
    if (next.base64 === current.publicKey.base64) {
      throw new Error('FEED_SIGNING_KEY_NEXT is the key that signs now; stage a new key, or unset it');
    }
    return next;
  },
};
