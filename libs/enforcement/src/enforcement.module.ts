import { Module } from '@nestjs/common';
import { AllowlistHistory } from './allowlist-history.js';
import { AllowlistRepository } from './allowlist.repository.js';
import { FeedChangeLog } from './feed-change-log.js';
import { FeedSigningKeyRepository, feedNextPublicKeyProvider, feedSignerProvider, FEED_NEXT_PUBLIC_KEY, FEED_SIGNER } from './signer.provider.js';
import { SnapshotMetrics } from './snapshot-metrics.js';
import { SnapshotStore } from './snapshot-store.js';
import { SnapshotFile } from './snapshot-file.js';

/**
 * What writes the allowlist: the version and change-log writer that the
 * exception code calls inside its own transactions. Imported by every
 * process that changes exceptions (api, worker, cli).
 */
@Module({
  // The history: the worker records its snapshots.
  providers: [FeedChangeLog, AllowlistHistory],
  exports: [FeedChangeLog, AllowlistHistory],
})
export class FeedWriterModule {}

/**
 * The enforcement core: the allowlist held in memory, its renderings and
 * signatures, shared by the API (feed) and the policy server.
 */
@Module({
  providers: [AllowlistRepository, AllowlistHistory, SnapshotStore, SnapshotFile, SnapshotMetrics, FeedSigningKeyRepository, feedSignerProvider, feedNextPublicKeyProvider],
  exports: [SnapshotStore, AllowlistRepository, AllowlistHistory, FEED_SIGNER, FEED_NEXT_PUBLIC_KEY],
})
export class EnforcementModule {}
