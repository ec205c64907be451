import { Global, Module } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { boundedFanout, DnsChecks, DnsClient, ResolverHealth } from '@app/dns';

/** Injection tokens: the interfaces, so tests and callers never depend on the client class. */
export const DNS_LOOKUP = Symbol('DNS_LOOKUP');
export const DNS_FANOUT = Symbol('DNS_FANOUT');
/** A records with TTLs and TXT, for DNS blocklist lookups (`BlocklistDns`), through the same resolvers. */
export const BLOCKLIST_DNS = Symbol('BLOCKLIST_DNS');

/**
 * One DNS client per process, configured from DNS_RESOLVERS, DNS_TIMEOUT_MS
 * and DNS_TRIES. Checks go through `DnsChecks` (one deadline and memo per
 * check, DNS_CHECK_DEADLINE_MS); every `txtFromEach` of DNS_FANOUT (one
 * challenge look) has that deadline too. DNS_LOOKUP is the bare client.
 * ResolverHealth asks each resolver for DNS_CANARY_NAME before its "no such
 * name" is held against a customer (challenges, diagnostics, readiness).
 */
@Global()
@Module({
  providers: [
    {
      provide: DnsClient,
      inject: [HELOPASS_CONFIG],
      useFactory: (config: HeloPassConfig) =>
        new DnsClient({ resolvers: config.dns.resolvers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries }),
    },
    { provide: DNS_LOOKUP, useExisting: DnsClient },
    {
      provide: DNS_FANOUT,
      inject: [DnsClient, HELOPASS_CONFIG],
      useFactory: (client: DnsClient, config: HeloPassConfig) => boundedFanout(client, config.dnsCheck.deadlineMs),
    },
    { provide: BLOCKLIST_DNS, useExisting: DnsClient },
    {
      provide: DnsChecks,
      inject: [DnsClient, HELOPASS_CONFIG],
      useFactory: (client: DnsClient, config: HeloPassConfig) => new DnsChecks(client, config.dnsCheck.deadlineMs),
    },
    {
      provide: ResolverHealth,
      inject: [DnsClient, HELOPASS_CONFIG],
      useFactory: (client: DnsClient, config: HeloPassConfig) => new ResolverHealth(client, config.dnsCanary.name),
    },
  ],
  exports: [DNS_LOOKUP, DNS_FANOUT, DnsChecks, BLOCKLIST_DNS, ResolverHealth],
})
export class DnsModule {}
