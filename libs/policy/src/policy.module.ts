import { Module, type DynamicModule } from '@nestjs/common';
import type { HeloPassConfig } from '@app/config';
import { processFoundation } from '@app/database';
import type { Clock } from '@app/domain';
import { EnforcementModule } from '@app/enforcement';
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
        EnforcementModule,
      ],
      providers: [PolicyService, UsageRepository],
    };
  }
}
