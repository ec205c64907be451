import { Module } from '@nestjs/common';
import { EnforcementModule } from '@app/enforcement';
import { AllowlistController } from './allowlist.controller.js';
import { AllowlistService } from './allowlist.service.js';

@Module({ imports: [EnforcementModule], controllers: [AllowlistController], providers: [AllowlistService] })
export class AllowlistApiModule {}
