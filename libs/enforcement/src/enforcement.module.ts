import { Module } from '@nestjs/common';
import { AllowlistRepository } from './allowlist.repository.js';
import { FeedChangeLog } from './feed-change-log.js';
import { FeedSigningKeyRepository, feedNextPublicKeyProvider, feedSignerProvider, FEED_NEXT_PUBLIC_KEY, FEED_SIGNER } from './signer.provider.js';
import { SnapshotStore } from './snapshot-store.js';

/**
 * What writes the allowlist: the version and change-log writer that the
 * exception code calls inside its own transactions. Imported by every
 * process that changes exceptions (api, worker, cli).
 */
@Module({
  providers: [FeedChangeLog],
  exports: [FeedChangeLog],
})
export class FeedWriterModule {}

/**
 * The enforcement core: the allowlist held in memory, its renderings and
 * signatures, shared by the API (feed) and the policy server.
 */
@Module({
  providers: [AllowlistRepository, SnapshotStore, FeedSigningKeyRepository, feedSignerProvider, feedNextPublicKeyProvider],
  exports: [SnapshotStore, AllowlistRepository, FEED_SIGNER, FEED_NEXT_PUBLIC_KEY],
})
export class EnforcementModule {}
