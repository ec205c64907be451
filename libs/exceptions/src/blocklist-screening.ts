import { Inject, Injectable } from '@nestjs/common';
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
export class BlocklistScreening {
  private readonly checker: BlocklistChecker;
  private readonly deadlineMs: number;

  constructor(@Inject(BLOCKLIST_DNS) dns: BlocklistDns, clock: Clock, @Inject(HELOPASS_CONFIG) config: HeloPassConfig) {
    this.checker = new BlocklistChecker({
      dns,
      addressZones: config.blocklists.addressZones,
      domainZones: config.blocklists.domainZones,
      maxAddresses: config.blocklists.maxAddresses,
      clock,
    });
    this.deadlineMs = config.dnsCheck.deadlineMs;
  }

  /**
   * What the API and the worker log at start-up when the check is off (not
   * the command line, whose output is machine-read); null when it is on.
   */
  get startupWarning(): string | null {
    return this.enabled
      ? null
      : 'no DNS blocklist is configured (DNSBL_ZONES, DNSBL_DOMAIN_ZONES): exceptions are granted without checking that the server is not used for illegitimate email';
  }

  /** False when no zone is configured: every check then finds nothing. */
  get enabled(): boolean {
    return this.checker.enabled;
  }

  /**
   * Looks up the addresses and the HELO name an exception covers (or would
   * cover), all within one deadline (`DNS_CHECK_DEADLINE_MS`, real time like
   * every DNS check's): lookups it cuts short are `unknown`, never listed.
   */
  async check(server: { heloHostname: string; addresses: readonly string[] }): Promise<BlocklistReport> {
    const ms = this.deadlineMs;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new Error(`EDEADLINE: deadline exceeded: a blocklist check may take at most ${ms} ms (DNS_CHECK_DEADLINE_MS)`)),
      ms,
    );
    timer.unref();
    try {
      return await this.checker.checkServer({ prefixes: server.addresses, heloHostname: server.heloHostname }, { signal: deadline.signal });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Logs `startupWarning` (API and worker start-up). */
export function warnWhenBlocklistsAreOff(screening: BlocklistScreening, logger: { warn(message: string): void }): void {
  const warning = screening.startupWarning;
  if (warning !== null) {
    logger.warn(warning);
  }
}
