/**
 * What one DNS resolver said about one question. `answered` outcomes
 * (`ok`, `nxdomain`, `nodata`) are the resolver's word on the name; the others
 * mean it could not tell, and must never be read as "no record".
 */
export type DnsOutcome<T> =
  | { status: 'ok'; resolver: string; records: T[] }
  | { status: 'nxdomain' | 'nodata'; resolver: string }
  | { status: 'timeout' | 'servfail' | 'refused' | 'error'; resolver: string; error: string };

export type DnsAnswered<T> = Extract<DnsOutcome<T>, { status: 'ok' | 'nxdomain' | 'nodata' }>;

export function isAnswered<T>(outcome: DnsOutcome<T>): outcome is DnsAnswered<T> {
  return outcome.status === 'ok' || outcome.status === 'nxdomain' || outcome.status === 'nodata';
}

export interface MxRecord {
  exchange: string;
  priority: number;
}

export interface LookupOptions {
  /**
   * The deadline of the check the lookup belongs to: once aborted, the lookup
   * answers `timeout` at once and asks no further server or CNAME hop.
   */
  signal?: AbortSignal;
}

/** The lookups HeloPass makes. Every method resolves (never rejects) within the configured timeout. */
export interface DnsLookup {
  /** TXT records, each record's strings concatenated (RFC 7208 §3.3); follows a CNAME at the name. */
  txt(name: string, options?: LookupOptions): Promise<DnsOutcome<string>>;
  a(name: string, options?: LookupOptions): Promise<DnsOutcome<string>>;
  aaaa(name: string, options?: LookupOptions): Promise<DnsOutcome<string>>;
  mx(name: string, options?: LookupOptions): Promise<DnsOutcome<MxRecord>>;
  /** PTR names of an address (IPv4 or IPv6), lowercase, without the trailing dot. */
  ptr(address: string, options?: LookupOptions): Promise<DnsOutcome<string>>;
}

/** Asks every configured resolver separately (for corroboration); each element is one resolver's outcome. */
export interface DnsFanout {
  readonly resolvers: readonly string[];
  txtFromEach(name: string, options?: LookupOptions): Promise<DnsOutcome<string>[]>;
}
