import { Module } from '@nestjs/common';
import { MailServersController } from './mail-servers.controller.js';
import { MailServersRepository } from './mail-servers.repository.js';
import { MailServersService } from './mail-servers.service.js';

@Module({
  controllers: [MailServersController],
  providers: [MailServersRepository, MailServersService],
  exports: [MailServersService],
})
export class MailServersModule {}
