import { Module } from '@nestjs/common';
import { AllowlistRepository } from './allowlist.repository.js';
import { feedSignerProvider, FEED_SIGNER } from './signer.provider.js';
import { SnapshotStore } from './snapshot-store.js';

/** The in-memory allowlist snapshot, shared by the API (feed) and the policy server. */
@Module({
  providers: [AllowlistRepository, SnapshotStore, feedSignerProvider],
  exports: [SnapshotStore, AllowlistRepository, FEED_SIGNER],
})
export class AllowlistModule {}
