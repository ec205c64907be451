import { Module } from '@nestjs/common';
import { AllowlistModule } from '@app/allowlist';
import { AllowlistController } from './allowlist.controller.js';
import { AllowlistService } from './allowlist.service.js';

@Module({ imports: [AllowlistModule], controllers: [AllowlistController], providers: [AllowlistService] })
export class AllowlistApiModule {}
