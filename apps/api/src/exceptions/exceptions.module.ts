import { Module } from '@nestjs/common';
import { AuditEventsModule } from '../audit-events/audit-events.module.js';
import { ExceptionQueries } from './exception-queries.js';
import { ExceptionsController } from './exceptions.controller.js';

@Module({
  imports: [AuditEventsModule],
  controllers: [ExceptionsController],
  providers: [ExceptionQueries],
})
export class ExceptionsApiModule {}
