import { Module } from '@nestjs/common';
import { DnsModule } from './dns.module.js';
import { DomainCheckHistory } from './domain-check-history.js';
import { DomainOverridesService } from './domain-overrides.service.js';
import { DomainsRepository } from './domains.repository.js';
import { DomainsService } from './domains.service.js';
import { OwnershipRepository } from './ownership.repository.js';
import { OwnershipService } from './ownership.service.js';

/** Proof of ownership: domains and their DNS challenges, mail-server evidence. Shared by the API and the worker. */
@Module({
  imports: [DnsModule],
  providers: [DomainsRepository, DomainsService, DomainOverridesService, OwnershipRepository, OwnershipService, DomainCheckHistory],
  exports: [DomainsService, DomainOverridesService, OwnershipService, DomainCheckHistory],
})
export class OwnershipModule {}
