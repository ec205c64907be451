import { Module } from '@nestjs/common';
import { DnsModule } from '@app/ownership';
import { RegistryModule } from '@app/registry';
import { DiagnosticsController } from './diagnostics.controller.js';
import { DiagnosticsService } from './diagnostics.service.js';

@Module({
  imports: [DnsModule, RegistryModule],
  controllers: [DiagnosticsController],
  providers: [DiagnosticsService],
  exports: [DiagnosticsService],
})
export class DiagnosticsModule {}
