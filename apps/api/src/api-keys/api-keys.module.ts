import { Module } from '@nestjs/common';
import { AccessModule } from '@app/access';
import { ApiKeysController } from './api-keys.controller.js';

@Module({
  imports: [AccessModule],
  controllers: [ApiKeysController],
})
export class ApiKeysModule {}
