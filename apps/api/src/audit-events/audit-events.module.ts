import { Module } from '@nestjs/common';
import { AuditEventsController } from './audit-events.controller.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { AuditEventsService } from './audit-events.service.js';
import { ResourceHistoryController } from './resource-history.controller.js';

@Module({
  controllers: [AuditEventsController, ResourceHistoryController],
  providers: [AuditEventsRepository, AuditEventsService],
  exports: [AuditEventsService],
})
export class AuditEventsModule {}
