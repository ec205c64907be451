import { Module } from '@nestjs/common';
import { AuditEventsModule } from '../audit-events/audit-events.module.js';
import { ExceptionBulkDecisionsController } from './exception-bulk-decisions.controller.js';
import { ExceptionQueries } from './exception-queries.js';
import { ExceptionsController } from './exceptions.controller.js';

@Module({
  imports: [AuditEventsModule],
  // The bulk route first: `bulk-decisions` is a path of its own, never an exception id.
  controllers: [ExceptionBulkDecisionsController, ExceptionsController],
  providers: [ExceptionQueries],
})
export class ExceptionsApiModule {}
