import { Module } from '@nestjs/common';
import { EnforcementModule } from '@app/enforcement';
import { DnsModule } from '@app/ownership';
import { HealthController } from './health.controller.js';
import { HealthRepository } from './health.repository.js';

@Module({ imports: [EnforcementModule, DnsModule], controllers: [HealthController], providers: [HealthRepository] })
export class HealthModule {}
