import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import type { BlocklistReport } from '@app/dns';
import { jsonOrNull } from './exceptions.repository.js';

/** The only Prisma code for exceptions' blocklist checks. */
@Injectable()
export class BlocklistChecksRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records when the exception was last looked up and what was found. An
   * observation, not a change of the exception: its version (the ETag a
   * decision's If-Match names) stays, so a scheduled check never makes a
   * person's pending decision fail. Changes it causes (suspension,
   * restoration) go through `ExceptionsRepository.update` and do move it.
   */
  async record(tx: Transaction, id: string, checkedAt: Date, report: BlocklistReport): Promise<void> {
    await tx.exception.update({ where: { id }, data: { blocklistCheckedAt: checkedAt, blocklistResult: jsonOrNull(report) } });
  }

  /**
   * Active and suspended exceptions, not expired, not looked up since
   * `checkedBefore`, least recently checked first. `onlyBlocklistSuspended`:
   * just those a listing suspended (when no list is configured any more,
   * only they have something left to learn).
   */
  async due(now: Date, checkedBefore: Date, limit: number, onlyBlocklistSuspended: boolean): Promise<string[]> {
    const rows = await this.prisma.exception.findMany({
      where: {
        status: onlyBlocklistSuspended ? 'suspended' : { in: ['active', 'suspended'] },
        ...(onlyBlocklistSuspended ? { suspensionCauses: { has: 'blocklist' } } : {}),
        expiresAt: { gt: now },
        OR: [{ blocklistCheckedAt: null }, { blocklistCheckedAt: { lte: checkedBefore } }],
      },
      select: { id: true },
      orderBy: [{ blocklistCheckedAt: { sort: 'asc', nulls: 'first' } }, { id: 'asc' }],
      take: limit,
    });
    return rows.map((row) => row.id);
  }
}
