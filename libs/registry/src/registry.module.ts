import { Module } from '@nestjs/common';
import { MailServersRepository } from './mail-servers.repository.js';
import { MailServersService } from './mail-servers.service.js';
import { OrganizationsRepository } from './organizations.repository.js';
import { OrganizationsService } from './organizations.service.js';

/**
 * The customer registry: organizations and their mail servers, shared by the
 * API and the command line (import). Suspending an organization calls the
 * exceptions cascade, so the global exceptions module must be loaded too.
 */
@Module({
  providers: [OrganizationsRepository, OrganizationsService, MailServersRepository, MailServersService],
  exports: [OrganizationsService, MailServersService],
})
export class RegistryModule {}
