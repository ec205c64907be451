import { Module } from '@nestjs/common';
import { AllowlistModule } from '@app/allowlist';
import { DnsModule } from '@app/ownership';
import { HealthController } from './health.controller.js';
import { HealthRepository } from './health.repository.js';

@Module({ imports: [AllowlistModule, DnsModule], controllers: [HealthController], providers: [HealthRepository] })
export class HealthModule {}
