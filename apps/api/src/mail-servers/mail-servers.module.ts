import { Module } from '@nestjs/common';
import { RegistryModule } from '@app/registry';
import { MailServersController } from './mail-servers.controller.js';

@Module({ imports: [RegistryModule], controllers: [MailServersController] })
export class MailServersModule {}
