import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { BlocklistChecker, type BlocklistDns, type BlocklistReport } from '@app/dns';
import { Clock } from '@app/domain';
import { BLOCKLIST_DNS } from '@app/ownership';

/**
 * The FAQ's second condition, "not being used for illegitimate email": a
 * mail server's addresses looked up in the DNS blocklists of `DNSBL_ZONES`,
 * its HELO name in those of `DNSBL_DOMAIN_ZONES`, through the configured
 * resolvers. One checker (and so one answer cache) per process.
 */
@Injectable()
export class BlocklistScreening implements OnModuleInit {
  private readonly logger = new Logger(BlocklistScreening.name);
  private readonly checker: BlocklistChecker;

  constructor(@Inject(BLOCKLIST_DNS) dns: BlocklistDns, clock: Clock, @Inject(HELOPASS_CONFIG) config: HeloPassConfig) {
    this.checker = new BlocklistChecker({
      dns,
      addressZones: config.blocklists.addressZones,
      domainZones: config.blocklists.domainZones,
      maxAddresses: config.blocklists.maxAddresses,
      clock,
    });
  }

  onModuleInit(): void {
    if (!this.enabled) {
      this.logger.warn(
        'no DNS blocklist is configured (DNSBL_ZONES, DNSBL_DOMAIN_ZONES): exceptions are granted without checking that the server is not used for illegitimate email',
      );
    }
  }

  /** False when no zone is configured: every check then finds nothing. */
  get enabled(): boolean {
    return this.checker.enabled;
  }

  /** Looks up the addresses and the HELO name an exception covers (or would cover). */
  check(server: { heloHostname: string; addresses: readonly string[] }): Promise<BlocklistReport> {
    return this.checker.checkServer({ prefixes: server.addresses, heloHostname: server.heloHostname });
  }
}
