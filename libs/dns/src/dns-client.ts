import { promises as dns, type RecordWithTtl } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { nameLengthProblem } from './limits.js';
import { hostPort, parseResolverEntry, serverAddress } from './resolver-entry.js';
import { isAnswered, type DnsFanout, type DnsLookup, type DnsOutcome, type LookupOptions, type MxRecord } from './types.js';

export interface DnsClientOptions {
  /** `host`, `host:port`, `v6addr` or `[v6addr]:port` entries; empty: the system's resolvers. */
  resolvers: readonly string[];
  /** How long one try waits for an answer. */
  timeoutMs: number;
  tries: number;
}

/** One configured server, with a c-ares channel of its own so it can be asked alone. */
interface ResolverSlot {
  readonly name: string;
  readonly resolver: dns.Resolver;
  /** Set for a server given by host name: c-ares takes addresses only, so it is looked up on first use. */
  readonly host?: { name: string; port: number | undefined };
  configured: boolean;
}

type Failure = Extract<DnsOutcome<never>, { error: string }>;

/** RFC 1034 §3.6.2 permits chains; resolvers cap them too (BIND follows 16, we follow 8). */
const MAX_CNAME_HOPS = 8;
/** Lets c-ares report its own timeout before the guard cancels the query. */
const GUARD_SLACK_MS = 50;
const SYSTEM = 'system';
const DNS_PORT = 53;

/**
 * The DNS client HeloPass uses for ownership proof, re-checks and mail-server
 * evidence: Node's c-ares resolver, one channel per configured server.
 * Every method resolves, never rejects; a server that does not answer gives a
 * `timeout` outcome, never "no record". One question to one server takes at
 * most about `timeoutMs × tries`; a lookup may ask several servers in turn and
 * follow a CNAME chain, each step within that bound. A lookup given an
 * AbortSignal (its check's deadline, see DnsCheck) stops waiting when it
 * fires. A name with a label over 63 or more than 253 characters is never
 * sent (RFC 1035 §2.3.4).
 */
export class DnsClient implements DnsLookup, DnsFanout {
  readonly resolvers: readonly string[];
  private readonly slots: readonly ResolverSlot[];
  private readonly budgetMs: number;

  constructor(options: DnsClientOptions) {
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) {
      throw new Error(`DnsClient timeoutMs must be a positive integer, got ${options.timeoutMs}`);
    }
    if (!Number.isInteger(options.tries) || options.tries < 1) {
      throw new Error(`DnsClient tries must be a positive integer, got ${options.tries}`);
    }
    // c-ares doubles the wait on each retry; maxTimeout limits that growth and
    // the guard timer in ask() bounds the rest.
    const resolverOptions = { timeout: options.timeoutMs, tries: options.tries, maxTimeout: options.timeoutMs };
    this.budgetMs = options.timeoutMs * options.tries + GUARD_SLACK_MS;
    if (options.resolvers.length === 0) {
      this.slots = systemSlots(resolverOptions);
    } else {
      this.slots = options.resolvers.map((entry) => {
        const { host, port } = parseResolverEntry(entry.trim());
        const resolver = new dns.Resolver(resolverOptions);
        // Named host:port, port 53 written out: every answer says which server said it.
        const name = hostPort(host, port ?? DNS_PORT);
        if (isIP(host) === 0) {
          return { name, resolver, host: { name: host, port }, configured: false };
        }
        resolver.setServers([serverAddress(host, port)]);
        return { name, resolver, configured: true };
      });
    }
    this.resolvers = this.slots.map((slot) => slot.name);
  }

  /** A records of `name` as one resolver (by its name in `resolvers`) sees them: how ResolverHealth asks each its canary. */
  aFrom(resolver: string, name: string, options: LookupOptions = {}): Promise<DnsOutcome<string>> {
    const slot = this.slots.find((candidate) => candidate.name === resolver);
    if (slot === undefined) {
      return Promise.resolve({ status: 'error', resolver, error: 'EUNKNOWNRESOLVER: not one of the configured resolvers' });
    }
    return this.follow(slot, normalizeName(name), (r, n) => r.resolve4(n), (address) => address, options.signal);
  }

  /** RFC 7208 §3.3: a TXT record's character-strings are joined with nothing between them. */
  txt(name: string, options: LookupOptions = {}): Promise<DnsOutcome<string>> {
    return this.firstAnswered((slot) => this.txtFrom(slot, name, options.signal), options.signal);
  }

  a(name: string, options: LookupOptions = {}): Promise<DnsOutcome<string>> {
    const { signal } = options;
    return this.firstAnswered(
      (slot) => this.follow(slot, normalizeName(name), (r, n) => r.resolve4(n), (address) => address, signal),
      signal,
    );
  }

  /** A records with their TTLs, for answers kept exactly as long as they are valid (blocklist lookups). */
  aWithTtl(name: string, options: LookupOptions = {}): Promise<DnsOutcome<RecordWithTtl>> {
    const { signal } = options;
    return this.firstAnswered(
      (slot) => this.follow(slot, normalizeName(name), (r, n) => r.resolve4(n, { ttl: true }), ({ address, ttl }) => ({ address, ttl }), signal),
      signal,
    );
  }

  aaaa(name: string, options: LookupOptions = {}): Promise<DnsOutcome<string>> {
    const { signal } = options;
    return this.firstAnswered(
      (slot) => this.follow(slot, normalizeName(name), (r, n) => r.resolve6(n), (address) => address, signal),
      signal,
    );
  }

  mx(name: string, options: LookupOptions = {}): Promise<DnsOutcome<MxRecord>> {
    const { signal } = options;
    return this.firstAnswered(
      (slot) =>
        this.follow(
          slot,
          normalizeName(name),
          (r, n) => r.resolveMx(n),
          ({ exchange, priority }) => ({ exchange: normalizeName(exchange), priority }),
          signal,
        ),
      signal,
    );
  }

  /**
   * PTR names of an address: RFC 1035 §3.5 (in-addr.arpa) and RFC 3596 §2.5
   * (ip6.arpa). Built here and asked with a plain PTR query, because
   * `Resolver.reverse()` may answer from /etc/hosts.
   */
  async ptr(address: string, options: LookupOptions = {}): Promise<DnsOutcome<string>> {
    const name = reverseName(address);
    if (name === undefined) {
      return { status: 'error', resolver: this.resolvers[0] ?? SYSTEM, error: 'EINVAL: not an IP address' };
    }
    const { signal } = options;
    return this.firstAnswered((slot) => this.follow(slot, name, (r, n) => r.resolvePtr(n), normalizeName, signal), signal);
  }

  txtFromEach(name: string, options: LookupOptions = {}): Promise<DnsOutcome<string>[]> {
    return Promise.all(this.slots.map((slot) => this.txtFrom(slot, name, options.signal)));
  }

  private txtFrom(slot: ResolverSlot, name: string, signal: AbortSignal | undefined): Promise<DnsOutcome<string>> {
    return this.follow(slot, normalizeName(name), (r, n) => r.resolveTxt(n), (chunks) => chunks.join(''), signal);
  }

  /** Asks the servers in the configured order; the first that answers (even "no such name") decides. */
  private async firstAnswered<T>(
    ask: (slot: ResolverSlot) => Promise<DnsOutcome<T>>,
    signal: AbortSignal | undefined,
  ): Promise<DnsOutcome<T>> {
    let outcome: DnsOutcome<T> | undefined;
    for (const slot of this.slots) {
      if (signal?.aborted) {
        return abandoned(slot.name, signal);
      }
      outcome = await ask(slot);
      if (isAnswered(outcome)) {
        return outcome;
      }
    }
    // There is always at least one slot: the system's resolvers when none is configured.
    return outcome as DnsOutcome<T>;
  }

  /**
   * One lookup at one server, following a CNAME at the name (RFC 1034 §3.6.2:
   * an alias has no other data; the records live at the canonical name).
   * A recursive resolver usually chases the chain and c-ares hands back the
   * target's records directly. An answer holding only the CNAME (a server
   * that did not chase) comes back from c-ares as an empty list, a truly
   * empty answer as ENODATA; either way the alias is asked for and followed.
   */
  private async follow<R, T>(
    slot: ResolverSlot,
    name: string,
    lookup: (resolver: dns.Resolver, name: string) => Promise<R[]>,
    map: (record: R) => T,
    signal: AbortSignal | undefined,
  ): Promise<DnsOutcome<T>> {
    const problem = nameLengthProblem(name);
    if (problem !== null) {
      return { status: 'error', resolver: slot.name, error: `EBADNAME: ${problem}` };
    }
    const seen = new Set([name]);
    let current = name;
    for (let hop = 0; ; hop++) {
      const outcome = await this.ask(slot, (resolver) => lookup(resolver, current), map, signal);
      if (outcome.status !== 'nodata') {
        return outcome;
      }
      const alias = await this.ask(slot, (resolver) => resolver.resolveCname(current), normalizeName, signal);
      if (alias.status === 'nodata' || alias.status === 'nxdomain' || (alias.status === 'ok' && alias.records.length === 0)) {
        return outcome;
      }
      if (alias.status !== 'ok') {
        // Whether an alias hides records is unknown: report the failure, never "no record".
        return alias;
      }
      const target = alias.records[0] as string;
      if (seen.has(target)) {
        return { status: 'error', resolver: slot.name, error: `ECNAMELOOP: CNAME chain from ${name} loops at ${target}` };
      }
      if (hop + 1 > MAX_CNAME_HOPS) {
        return { status: 'error', resolver: slot.name, error: `ECNAMECHAIN: CNAME chain from ${name} is longer than ${MAX_CNAME_HOPS}` };
      }
      seen.add(target);
      current = target;
    }
  }

  /**
   * One question to one server, bounded by a guard timer: c-ares backs off
   * between tries, so its own timeout can run past timeoutMs × tries.
   * `cancel()` aborts every outstanding query of this server's channel; the
   * guard only fires once this server has already overrun the whole budget.
   * A check's deadline (the signal) only stops the waiting: the channel is
   * shared with other checks, so it is not cancelled for one of them.
   */
  private async ask<R, T>(
    slot: ResolverSlot,
    query: (resolver: dns.Resolver) => Promise<R[]>,
    map: (record: R) => T,
    signal: AbortSignal | undefined,
  ): Promise<DnsOutcome<T>> {
    if (signal?.aborted) {
      return abandoned(slot.name, signal);
    }
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const guard = new Promise<DnsOutcome<T>>((resolve) => {
      timer = setTimeout(() => {
        slot.resolver.cancel();
        resolve({ status: 'timeout', resolver: slot.name, error: `ETIMEOUT: no answer within ${this.budgetMs} ms` });
      }, this.budgetMs);
      if (signal !== undefined) {
        onAbort = () => resolve(abandoned(slot.name, signal));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    const attempt = (async (): Promise<DnsOutcome<T>> => {
      const unavailable = await this.configure(slot);
      if (unavailable !== undefined) {
        return unavailable;
      }
      try {
        const records = await query(slot.resolver);
        // c-ares returns an empty list when the answer held only other types (a CNAME).
        if (records.length === 0) {
          return { status: 'nodata', resolver: slot.name };
        }
        return { status: 'ok', resolver: slot.name, records: records.map(map) };
      } catch (error) {
        return failureOutcome(slot.name, error);
      }
    })();
    try {
      return await Promise.race([attempt, guard]);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  /** Looks up a server given by host name; its failure is the server's, not the queried name's. */
  private async configure(slot: ResolverSlot): Promise<Failure | undefined> {
    if (slot.configured || slot.host === undefined) {
      return undefined;
    }
    try {
      // Every address of the name, in the system's order: c-ares moves on to
      // the next when one refuses (`localhost` may come back as ::1 first).
      const addresses = await dns.lookup(slot.host.name, { all: true });
      const port = slot.host.port;
      slot.resolver.setServers(addresses.map(({ address }) => serverAddress(address, port)));
      slot.configured = true;
      return undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      return { status: 'error', resolver: slot.name, error: `ERESOLVERHOST: cannot look up resolver ${slot.host.name} (${code})` };
    }
  }
}

/** A lookup its check gave up on: could not tell, like a timeout, with the check's reason. */
function abandoned(resolver: string, signal: AbortSignal): DnsOutcome<never> {
  const reason: unknown = signal.reason;
  const error = reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'EABORTED: the check was abandoned';
  return { status: 'timeout', resolver, error };
}

/** c-ares error codes (Node's `dns.*` constants) to outcomes. */
function failureOutcome(resolver: string, error: unknown): DnsOutcome<never> {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  switch (code) {
    case dns.NOTFOUND: // RCODE 3, NXDOMAIN (RFC 1035 §4.1.1)
      return { status: 'nxdomain', resolver };
    case dns.NODATA: // NOERROR with no records of the type (RFC 2308 §2.2)
      return { status: 'nodata', resolver };
    case dns.TIMEOUT:
    case dns.CONNREFUSED: // ICMP port unreachable: nothing listens there
    case dns.CANCELLED: // our guard timer, see ask()
      return { status: 'timeout', resolver, error: code };
    case dns.SERVFAIL:
      return { status: 'servfail', resolver, error: code };
    case dns.REFUSED:
      return { status: 'refused', resolver, error: code };
    default:
      return { status: 'error', resolver, error: code };
  }
}

/** Lowercase, without the trailing dot: DNS names compare without regard to case (RFC 4343). */
function normalizeName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function reverseName(address: string): string | undefined {
  if (isIP(address) === 0) {
    return undefined;
  }
  let parsed = ipaddr.parse(address);
  // An IPv4-mapped address (::ffff:192.0.2.1, as dual-stack sockets report
  // IPv4 peers) is reverse-mapped under in-addr.arpa, where its PTR lives.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const bytes = parsed.toByteArray();
  if (bytes.length === 4) {
    return `${bytes.reverse().join('.')}.in-addr.arpa`;
  }
  const nibbles = bytes.flatMap((byte) => [(byte >> 4).toString(16), (byte & 0x0f).toString(16)]);
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/**
 * The system's resolvers (resolv.conf, as c-ares reads it), one slot each,
 * named by address and port, so an answer names the server that gave it
 * rather than "system". c-ares would try them in turn on one channel; asking
 * them in turn here does the same.
 */
function systemSlots(resolverOptions: ConstructorParameters<typeof dns.Resolver>[0]): ResolverSlot[] {
  const servers = new dns.Resolver(resolverOptions).getServers();
  if (servers.length === 0) {
    return [{ name: SYSTEM, resolver: new dns.Resolver(resolverOptions), configured: true }];
  }
  return servers.map((server) => {
    const resolver = new dns.Resolver(resolverOptions);
    resolver.setServers([server]);
    const { host, port } = parseResolverEntry(server);
    return { name: hostPort(host, port ?? DNS_PORT), resolver, configured: true };
  });
}

export { parseResolverList } from './resolver-entry.js';
