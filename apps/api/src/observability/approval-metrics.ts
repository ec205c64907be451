import { Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { PrismaService } from '@app/database';
import { HeloPassMetrics, type PendingApprovals } from '@app/metrics';

/**
 * What waits for a second person (grants needing four eyes, domain
 * overrides), read from the database at each scrape: the alert "approvals
 * waiting too long" reads the oldest one's age.
 */
@Injectable()
export class ApprovalMetrics implements OnModuleInit {
  constructor(
    private readonly prisma: PrismaService,
    @Optional() private readonly metrics?: HeloPassMetrics,
  ) {}

  onModuleInit(): void {
    this.metrics?.watchPendingApprovals(() => this.pending());
  }

  async pending(): Promise<PendingApprovals[]> {
    const [exceptions, overrides] = await Promise.all([
      this.prisma.exception.aggregate({ where: { status: 'pending_approval' }, _count: { _all: true }, _min: { createdAt: true } }),
      this.prisma.domain.aggregate({
        where: { pendingOverrideRequestedAt: { not: null } },
        _count: { _all: true },
        _min: { pendingOverrideRequestedAt: true },
      }),
    ]);
    return [
      { kind: 'exception', count: exceptions._count._all, oldestSince: exceptions._min.createdAt },
      { kind: 'domain-override', count: overrides._count._all, oldestSince: overrides._min.pendingOverrideRequestedAt },
    ];
  }
}
