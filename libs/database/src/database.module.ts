import { Global, Module } from '@nestjs/common';
import { AuditLog } from './audit-log.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { NotificationHub } from './notification-hub.js';
import { PrismaService } from './prisma.service.js';

@Global()
@Module({
  providers: [PrismaService, AuditLog, IdempotencyRepository, NotificationHub],
  exports: [PrismaService, AuditLog, IdempotencyRepository, NotificationHub],
})
export class DatabaseModule {}
