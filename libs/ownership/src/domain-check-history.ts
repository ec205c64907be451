import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { Clock } from '@app/domain';
import { DomainsRepository } from './domains.repository.js';

/**
 * Each domain keeps at least its latest checks whatever their age, so that a
 * CSR can still see why a domain lapsed or failed long ago.
 */
export const ALWAYS_KEPT_DOMAIN_CHECKS = 10;

/**
 * The domain checks kept as history: at most DOMAIN_CHECK_HISTORY_MAX per
 * domain, none older than DOMAIN_CHECK_RETENTION_DAYS but the latest few.
 * Retries and re-checks add rows forever otherwise.
 */
@Injectable()
export class DomainCheckHistory {
  constructor(
    private readonly domains: DomainsRepository,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** Deletes up to `limit` checks past their retention; answers how many went. */
  purge(limit: number): Promise<number> {
    const { domainCheckDays, domainCheckHistoryMax } = this.config.retention;
    const cutoff = new Date(this.clock.now().getTime() - domainCheckDays * 86_400_000);
    return this.domains.purgeChecks(cutoff, Math.min(ALWAYS_KEPT_DOMAIN_CHECKS, domainCheckHistoryMax), domainCheckHistoryMax, limit);
  }
}
