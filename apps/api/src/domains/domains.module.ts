import { Module } from '@nestjs/common';
import { OwnershipModule } from '@app/ownership';
import { DomainsController } from './domains.controller.js';

@Module({ imports: [OwnershipModule], controllers: [DomainsController] })
export class DomainsModule {}
