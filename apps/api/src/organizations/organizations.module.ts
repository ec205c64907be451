import { Module } from '@nestjs/common';
import { RegistryModule } from '@app/registry';
import { OrganizationsController } from './organizations.controller.js';

@Module({ imports: [RegistryModule], controllers: [OrganizationsController] })
export class OrganizationsModule {}
