import { Global, Module } from '@nestjs/common';
import { AuditChainService } from './audit-chain.service.js';
import { AuditCheckpointService } from './audit-checkpoints.service.js';
import { AuditExportService } from './audit-export.js';
import { AuditLog } from './audit-log.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { NotificationHub } from './notification-hub.js';
import { PrismaService } from './prisma.service.js';

@Global()
@Module({
  providers: [PrismaService, AuditChainService, AuditLog, AuditCheckpointService, AuditExportService, IdempotencyRepository, NotificationHub],
  exports: [PrismaService, AuditChainService, AuditLog, AuditCheckpointService, AuditExportService, IdempotencyRepository, NotificationHub],
})
export class DatabaseModule {}
