import { Global, Module } from '@nestjs/common';
import { AuditLog } from './audit-log.js';
import { PrismaService } from './prisma.service.js';

@Global()
@Module({
  providers: [PrismaService, AuditLog],
  exports: [PrismaService, AuditLog],
})
export class DatabaseModule {}
