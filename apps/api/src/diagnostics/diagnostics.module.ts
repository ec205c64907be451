import { Module } from '@nestjs/common';
import { DnsModule } from '@app/ownership';
import { MailServersModule } from '../mail-servers/mail-servers.module.js';
import { OrganizationsModule } from '../organizations/organizations.module.js';
import { DiagnosticsController } from './diagnostics.controller.js';
import { DiagnosticsService } from './diagnostics.service.js';

@Module({
  imports: [DnsModule, MailServersModule, OrganizationsModule],
  controllers: [DiagnosticsController],
  providers: [DiagnosticsService],
})
export class DiagnosticsModule {}
