import { Module } from '@nestjs/common';
import { OwnershipModule as OwnershipCoreModule } from '@app/ownership';
import { OwnershipController } from './ownership.controller.js';

@Module({ imports: [OwnershipCoreModule], controllers: [OwnershipController] })
export class OwnershipApiModule {}
