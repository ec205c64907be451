import { Global, Module } from '@nestjs/common';
import { AuditLog } from './audit-log.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { PrismaService } from './prisma.service.js';

@Global()
@Module({
  providers: [PrismaService, AuditLog, IdempotencyRepository],
  exports: [PrismaService, AuditLog, IdempotencyRepository],
})
export class DatabaseModule {}
