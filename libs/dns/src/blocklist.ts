import type { RecordWithTtl } from 'node:dns';
import { LRUCache } from 'lru-cache';
import pLimit, { type LimitFunction } from 'p-limit';
import { addressQueryName, domainQueryName, prefixProbe } from './blocklist-names.js';
import { classifyBlocklistAnswer, type BlocklistVerdict, type BlocklistZone } from './blocklist-zones.js';
import type { DnsOutcome, LookupOptions } from './types.js';

/** The lookups a blocklist check makes; `DnsClient` provides them through the configured resolvers. */
export interface BlocklistDns {
  /** A records with their TTLs in seconds. */
  aWithTtl(name: string, options?: LookupOptions): Promise<DnsOutcome<RecordWithTtl>>;
  txt(name: string, options?: LookupOptions): Promise<DnsOutcome<string>>;
}

export interface BlocklistCheckerOptions {
  readonly dns: BlocklistDns;
  /** Lists asked about addresses (`DNSBL_ZONES`). */
  readonly addressZones: readonly BlocklistZone[];
  /** Lists asked about the HELO name (`DNSBL_DOMAIN_ZONES`). */
  readonly domainZones: readonly BlocklistZone[];
  /** IPv4 prefixes of at most this many addresses are looked up address by address (`DNSBL_MAX_ADDRESSES`). */
  readonly maxAddresses: number;
  /** Reads the time for cache expiry, so tests move it instead of sleeping. */
  readonly clock: { now(): Date };
  /** Most lookups in flight at once, over every check this checker runs. Default 16. */
  readonly concurrency?: number;
  /** Most answers kept. Default 10,000. */
  readonly cacheEntries?: number;
}

/** One list's verdict about one address or name. */
export type ZoneOutcome = BlocklistVerdict & { readonly zone: string; readonly query: string };

export interface ListedFinding {
  /** The address or HELO name looked up. */
  readonly subject: string;
  readonly zone: string;
  readonly query: string;
  readonly answers: readonly string[];
  /** The list's TXT record at the same name (RFC 5782 §2.1), when it has one. */
  readonly reason?: string;
}

export interface UnknownFinding {
  readonly subject: string;
  readonly zone: string;
  readonly query: string;
  readonly reason: string;
}

export interface PrefixCoverage {
  readonly prefix: string;
  /** Addresses looked up, in each address zone. */
  readonly checked: number;
  /** Addresses the prefix holds: decimal, or `2^n` past 2^53. */
  readonly total: string;
  readonly partial: boolean;
}

/**
 * What a check of one mail server found. Only listings and lookups that could
 * not be answered are itemised; every other (address, zone) pair was asked
 * and is not listed.
 */
export interface BlocklistReport {
  readonly addressZones: readonly string[];
  readonly domainZones: readonly string[];
  readonly prefixes: readonly PrefixCoverage[];
  readonly heloHostname?: string;
  readonly listed: readonly ListedFinding[];
  readonly unknown: readonly UnknownFinding[];
}

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_CACHE_ENTRIES = 10_000;
/**
 * NXDOMAIN and NODATA carry their cache time in the zone's SOA record
 * (RFC 2308 §5), which c-ares does not hand back: a minute, short next to the
 * re-check interval, spares a sweep from asking twice about shared addresses.
 */
const NEGATIVE_TTL_SECONDS = 60;
/** A record's TTL may run to 2^31 - 1 s (RFC 2181 §8); a listing that ends should not outlive an hour here. */
const MAX_TTL_SECONDS = 3600;
/** A list's TXT reason is third-party text shown to operators: kept printable and short. */
const MAX_REASON_LENGTH = 300;

function abandoned(signal: AbortSignal): DnsOutcome<never> {
  const reason: unknown = signal.reason;
  return { status: 'timeout', resolver: '', error: reason instanceof Error ? reason.message : 'EDEADLINE: the check ran out of time' };
}

/**
 * Looks addresses and names up in DNS blocklists (RFC 5782) and caches each
 * answer for its TTL. A lookup that could not be answered (timeout,
 * SERVFAIL, refusal, an error answer of the list) is `unknown`: it is never
 * cached and never counts as listed.
 */
export class BlocklistChecker {
  private readonly cache: LRUCache<string, BlocklistVerdict>;
  private readonly inFlight = new Map<string, Promise<BlocklistVerdict>>();
  private readonly limit: LimitFunction;

  constructor(private readonly options: BlocklistCheckerOptions) {
    if (!Number.isInteger(options.maxAddresses) || options.maxAddresses < 1) {
      throw new Error(`BlocklistChecker maxAddresses must be a positive integer, got ${options.maxAddresses}`);
    }
    this.limit = pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
    this.cache = new LRUCache({
      max: options.cacheEntries ?? DEFAULT_CACHE_ENTRIES,
      // Every entry is set with its own TTL; the injected clock decides when it has passed.
      perf: { now: () => options.clock.now().getTime() },
      // 0: read the clock on every get, rather than once per timer tick.
      ttlResolution: 0,
    });
  }

  /** False when no zone is configured: nothing is looked up and nothing is ever listed. */
  get enabled(): boolean {
    return this.options.addressZones.length > 0 || this.options.domainZones.length > 0;
  }

  /** Asks every address zone about one address (IPv4, IPv6 or IPv4-mapped). */
  lookupAddress(address: string, options: LookupOptions = {}): Promise<ZoneOutcome[]> {
    return Promise.all(
      this.options.addressZones.map((zone) => this.lookup(zone, addressQueryName(address, zone.name), address, options.signal)),
    );
  }

  /** Asks every domain zone about a host name. */
  lookupDomain(name: string, options: LookupOptions = {}): Promise<ZoneOutcome[]> {
    return Promise.all(this.options.domainZones.map((zone) => this.lookup(zone, domainQueryName(name, zone.name), name, options.signal)));
  }

  /**
   * Checks a mail server: the addresses of each prefix (all of a small IPv4
   * prefix, the network address of a wider one; see `prefixProbe`) in the
   * address zones, and its HELO name in the domain zones. `signal`: the
   * check's deadline; lookups not answered by then are `unknown`, and those
   * not yet sent are not sent.
   */
  async checkServer(server: { prefixes: readonly string[]; heloHostname?: string }, options: LookupOptions = {}): Promise<BlocklistReport> {
    const prefixes: PrefixCoverage[] = [];
    const subjects: Array<{ subject: string; outcomes: Promise<ZoneOutcome[]> }> = [];
    for (const prefix of server.prefixes) {
      const probe = prefixProbe(prefix, this.options.maxAddresses);
      if (probe === undefined) {
        subjects.push({ subject: prefix, outcomes: this.lookupAddress(prefix, options) });
        prefixes.push({ prefix, checked: 0, total: '0', partial: true });
        continue;
      }
      prefixes.push({ prefix, checked: probe.addresses.length, total: probe.total, partial: probe.partial });
      for (const address of probe.addresses) {
        subjects.push({ subject: address, outcomes: this.lookupAddress(address, options) });
      }
    }
    if (server.heloHostname !== undefined) {
      subjects.push({ subject: server.heloHostname, outcomes: this.lookupDomain(server.heloHostname, options) });
    }
    const listed: ListedFinding[] = [];
    const unknown: UnknownFinding[] = [];
    for (const { subject, outcomes } of subjects) {
      for (const outcome of await outcomes) {
        const { zone, query } = outcome;
        if (outcome.status === 'listed') {
          listed.push({ subject, zone, query, answers: outcome.answers, ...(outcome.reason === undefined ? {} : { reason: outcome.reason }) });
        } else if (outcome.status === 'unknown') {
          unknown.push({ subject, zone, query, reason: outcome.reason });
        }
      }
    }
    return {
      addressZones: this.options.addressZones.map((zone) => zone.name),
      domainZones: this.options.domainZones.map((zone) => zone.name),
      prefixes,
      ...(server.heloHostname === undefined ? {} : { heloHostname: server.heloHostname }),
      listed,
      unknown,
    };
  }

  private async lookup(zone: BlocklistZone, query: string | undefined, subject: string, signal: AbortSignal | undefined): Promise<ZoneOutcome> {
    if (query === undefined) {
      return { zone: zone.name, query: '', status: 'unknown', reason: `cannot build a query name for "${subject.slice(0, 64)}" in this zone` };
    }
    const cached = this.cache.get(query);
    if (cached !== undefined) {
      return { zone: zone.name, query, ...cached };
    }
    let pending = this.inFlight.get(query);
    if (pending === undefined) {
      pending = this.ask(zone, query, signal).finally(() => this.inFlight.delete(query));
      this.inFlight.set(query, pending);
    }
    return { zone: zone.name, query, ...(await pending) };
  }

  private async ask(zone: BlocklistZone, query: string, signal: AbortSignal | undefined): Promise<BlocklistVerdict> {
    const outcome = await this.limit(
      (): Promise<DnsOutcome<RecordWithTtl>> =>
        // Queued behind other lookups past the check's deadline: not sent at all.
        signal?.aborted === true ? Promise.resolve(abandoned(signal)) : this.options.dns.aWithTtl(query, { signal }),
    );
    const addresses: DnsOutcome<string> = outcome.status === 'ok' ? { ...outcome, records: outcome.records.map((record) => record.address) } : outcome;
    let verdict = classifyBlocklistAnswer(zone, addresses);
    if (verdict.status === 'listed') {
      const reason = await this.reason(query, signal);
      verdict = reason === undefined ? verdict : { ...verdict, reason };
    }
    const ttlSeconds =
      verdict.status === 'unknown'
        ? 0
        : outcome.status === 'ok'
          ? Math.min(MAX_TTL_SECONDS, ...outcome.records.map((record) => record.ttl))
          : NEGATIVE_TTL_SECONDS;
    // lru-cache reads a TTL of 0 as "forever"; a DNS TTL of 0 means "do not keep".
    if (ttlSeconds > 0) {
      this.cache.set(query, verdict, { ttl: ttlSeconds * 1000 });
    }
    return verdict;
  }

  /** RFC 5782 §2.1: a list may explain an entry in a TXT record at the same name. Its absence changes nothing. */
  private async reason(query: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const outcome = await this.limit(() => (signal?.aborted === true ? Promise.resolve(abandoned(signal)) : this.options.dns.txt(query, { signal })));
    if (outcome.status !== 'ok') {
      return undefined;
    }
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    const text = outcome.records.join(' ').replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
    return text === '' ? undefined : text.slice(0, MAX_REASON_LENGTH);
  }
}
