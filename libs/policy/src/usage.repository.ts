import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/database';
import type { UsageBatch, UsageStore } from './usage-counter.js';

/** How long an applied batch id is remembered: far longer than any flush is retried. */
const BATCH_RETENTION_DAYS = 30;

/** Writes the policy server's match counts onto the exceptions (`matchCount`, `lastMatchedAt`). */
@Injectable()
export class UsageRepository implements UsageStore {
  /** Names this process in the batches it writes (for whoever reads the table). */
  serverId = 'policy-server';

  constructor(private readonly prisma: PrismaService) {}

  /**
   * One transaction: the batch id first (a batch seen before stops here and
   * adds nothing), then every exception's count added and its last match
   * moved forward (never back: servers flush in any order). An exception
   * deleted meanwhile is skipped. Neither `version` nor `updatedAt` moves:
   * usage is no change of the exception (no ETag goes stale for it).
   */
  async apply(batch: UsageBatch): Promise<void> {
    const matches = batch.items.reduce((sum, item) => sum + item.count, 0);
    await this.prisma.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO policy_usage_batches (id, server_id, exceptions, matches)
        VALUES (${batch.id}::uuid, ${this.serverId.slice(0, 64)}, ${batch.items.length}, ${matches})
        ON CONFLICT (id) DO NOTHING`;
      if (inserted === 0) {
        return;
      }
      await tx.$executeRaw`
        UPDATE exceptions e
        SET match_count = e.match_count + u.count,
            last_matched_at = GREATEST(e.last_matched_at, u.last_matched_at)
        FROM unnest(
          ${batch.items.map((item) => item.exceptionId)}::uuid[],
          ${batch.items.map((item) => item.count)}::bigint[],
          ${batch.items.map((item) => new Date(item.lastMatchedAt))}::timestamptz[]
        ) AS u(id, count, last_matched_at)
        WHERE e.id = u.id`;
      await tx.$executeRaw`
        DELETE FROM policy_usage_batches WHERE applied_at < now() - make_interval(days => ${BATCH_RETENTION_DAYS})`;
    });
  }
}
