import { Injectable, type Provider } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { PrismaService } from '@app/database';
import { FeedSigner } from './signing.js';

export const FEED_SIGNER = Symbol('FEED_SIGNER');

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
