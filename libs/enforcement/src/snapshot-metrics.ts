import { Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { HeloPassMetrics } from '@app/metrics';
import { SnapshotStore } from './snapshot-store.js';

/**
 * The snapshot's metrics in each process that serves one (the API's feed,
 * the policy server): version, age and staleness read at each scrape, and
 * the change-apply latency — from a version's commit (the database's clock)
 * to its being served — as each batch is applied.
 */
@Injectable()
export class SnapshotMetrics implements OnModuleInit {
  constructor(
    private readonly store: SnapshotStore,
    @Optional() private readonly metrics?: HeloPassMetrics,
  ) {}

  onModuleInit(): void {
    const metrics = this.metrics;
    if (!metrics) {
      return;
    }
    const store = this.store;
    metrics.watchSnapshot({
      version: () => store.current()?.version ?? null,
      builtAt: () => store.current()?.asOf ?? null,
      staleSince: () => store.stale(),
    });
    store.observeApplied((committedAt) => {
      const now = Date.now();
      for (const at of committedAt) {
        metrics.changeApply.observe(Math.max(0, (now - at.getTime()) / 1000));
      }
    });
  }
}
