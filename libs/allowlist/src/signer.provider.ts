import type { Provider } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { PrismaService } from '@app/database';
import { FeedSigner } from './signing.js';

export const FEED_SIGNER = Symbol('FEED_SIGNER');

/**
 * The key that signs the renderings: FEED_SIGNING_KEY when set (recommended
 * in production: the key then lives only in the deployment's secrets);
 * otherwise one generated on first start and kept in the database, so that
 * every replica signs with the same key — only where that is allowed
 * (FEED_SIGNING_KEY_IN_DATABASE; not by default with NODE_ENV=production).
 */
export const feedSignerProvider: Provider = {
  provide: FEED_SIGNER,
  inject: [HELOPASS_CONFIG, PrismaService],
  useFactory: async (config: HeloPassConfig, prisma: PrismaService): Promise<FeedSigner> => {
    if (config.feed.signingKey !== undefined) {
      return FeedSigner.fromSetting(config.feed.signingKey);
    }
    if (!config.feed.signingKeyInDatabase) {
      throw new Error('FEED_SIGNING_KEY is not set and FEED_SIGNING_KEY_IN_DATABASE does not allow generating one');
    }
    const candidate = FeedSigner.generate();
    // The first process to start wins; the others read its key.
    await prisma.$executeRaw`INSERT INTO feed_signing_key (id, seed) VALUES (1, ${candidate.exportSeed()}) ON CONFLICT (id) DO NOTHING`;
    const row = await prisma.feedSigningKey.findUniqueOrThrow({ where: { id: 1 } });
    return FeedSigner.fromSetting(row.seed);
  },
};
