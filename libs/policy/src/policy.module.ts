import { Module, type DynamicModule } from '@nestjs/common';
import type { HeloPassConfig } from '@app/config';
import { processFoundation } from '@app/database';
import type { Clock } from '@app/domain';
import { EnforcementModule } from '@app/enforcement';
import { MetricsModule } from '@app/metrics';
import { PolicyService } from './policy.service.js';
import { UsageRepository } from './usage.repository.js';

/** What the policy server runs: the enforcement core and the database, nothing else (no ownership, DNS or exception-writing code). */
@Module({})
export class PolicyModule {
  static forRoot(config: HeloPassConfig, clock?: Clock, logStream?: NodeJS.WritableStream): DynamicModule {
    return {
      module: PolicyModule,
      imports: [
        ...processFoundation('helopass-policy', config, clock, logStream),
        // Its own metrics listener (POLICY_METRICS_PORT): the policy server has no HTTP port of its own.
        MetricsModule.forRoot('policy', { host: config.metrics.host, port: config.metrics.policyPort }),
        EnforcementModule,
      ],
      providers: [PolicyService, UsageRepository],
    };
  }
}
