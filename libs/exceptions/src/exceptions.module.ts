import { Global, Module } from '@nestjs/common';
import { FeedWriterModule } from '@app/enforcement';
import { DOMAIN_STATUS_LISTENER, OwnershipModule } from '@app/ownership';
import { BlocklistChecksRepository } from './blocklist-checks.repository.js';
import { BlocklistScreening } from './blocklist-screening.js';
import { ExceptionCascade } from './exception-cascade.js';
import { ExceptionChecksService } from './exception-checks.service.js';
import { ExceptionDecisionsService } from './exception-decisions.service.js';
import { ExceptionsRepository } from './exceptions.repository.js';
import { ExceptionsService } from './exceptions.service.js';
import { SelfHealingService } from './self-healing.service.js';

/**
 * Exceptions, shared by the API and the worker. Global, because the domain
 * lifecycle (in the ownership module) calls back into it when a domain lapses
 * or recovers.
 */
@Global()
@Module({
  imports: [OwnershipModule, FeedWriterModule],
  providers: [
    ExceptionsRepository,
    ExceptionsService,
    ExceptionDecisionsService,
    ExceptionCascade,
    BlocklistScreening,
    BlocklistChecksRepository,
    ExceptionChecksService,
    SelfHealingService,
    { provide: DOMAIN_STATUS_LISTENER, useExisting: ExceptionCascade },
  ],
  exports: [ExceptionsService, ExceptionDecisionsService, ExceptionCascade, ExceptionChecksService, SelfHealingService, DOMAIN_STATUS_LISTENER],
})
export class ExceptionsModule {}
