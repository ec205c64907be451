import { Module } from '@nestjs/common';
import { AllowlistModule } from '@app/allowlist';
import { HealthController } from './health.controller.js';
import { HealthRepository } from './health.repository.js';

@Module({ imports: [AllowlistModule], controllers: [HealthController], providers: [HealthRepository] })
export class HealthModule {}
