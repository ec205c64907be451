import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { IdempotencyRepository } from '@app/database';
import { Clock } from '@app/domain';
import { DomainCheckHistory } from '@app/ownership';
import { FeedChangeLog } from '@app/enforcement';

/** How much one run may delete: `batchSize` rows per statement, at most `maxBatches` statements per table. */
export interface PurgeLimits {
  readonly batchSize: number;
  readonly maxBatches: number;
}

export interface PurgeReport {
  readonly idempotencyRecords: number;
  readonly domainChecks: number;
  readonly feedChanges: number;
}

/** Up to 20,000 rows per table every ten minutes: short transactions, and a backlog still drains. */
export const DEFAULT_PURGE_LIMITS: PurgeLimits = { batchSize: 1000, maxBatches: 20 };

async function inBatches(limits: PurgeLimits, deleteBatch: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < limits.maxBatches; batch += 1) {
    const deleted = await deleteBatch(limits.batchSize);
    total += deleted;
    if (deleted < limits.batchSize) {
      break;
    }
  }
  return total;
}

/**
 * Keeps the tables that every request or check adds to from growing without
 * end: idempotency records past IDEMPOTENCY_RETENTION_HOURS (the API no longer
 * replays them anyway), domain checks past their retention, and the
 * allowlist's change log past FEED_CHANGE_LOG_RETENTION_HOURS.
 */
@Injectable()
export class RetentionService {
  constructor(
    private readonly idempotency: IdempotencyRepository,
    private readonly domainChecks: DomainCheckHistory,
    private readonly feedChanges: FeedChangeLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  async purge(limits: PurgeLimits = DEFAULT_PURGE_LIMITS): Promise<PurgeReport> {
    const cutoff = new Date(this.clock.now().getTime() - this.config.idempotencyRetentionHours * 3_600_000);
    const idempotencyRecords = await inBatches(limits, (limit) => this.idempotency.purgeCreatedBefore(cutoff, limit));
    const domainChecks = await inBatches(limits, (limit) => this.domainChecks.purge(limit));
    const feedCutoff = new Date(this.clock.now().getTime() - this.config.feed.changeLogRetentionHours * 3_600_000);
    const feedChanges = await inBatches(limits, (limit) => this.feedChanges.prune(feedCutoff, limit));
    return { idempotencyRecords, domainChecks, feedChanges };
  }
}
