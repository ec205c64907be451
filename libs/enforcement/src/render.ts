import ipaddr from 'ipaddr.js';

export type ExceptionScope = 'pair' | 'ip' | 'helo';

/** One exception as the mail filters need it. */
export interface AllowlistEntry {
  exceptionId: string;
  organizationId: string;
  scope: ExceptionScope;
  heloHostname: string;
  /** Canonical CIDRs (`192.0.2.10/32`). */
  addresses: string[];
  startsAt: Date;
  expiresAt: Date;
}

export const RENDERINGS = ['json', 'postfix-cidr', 'postfix-helo', 'rspamd-ip', 'rspamd-helo'] as const;
export type Rendering = (typeof RENDERINGS)[number];

export interface RenderContext {
  version: bigint;
  /** The instant the list is as of (deterministic: the last change or transition, not the build time). */
  asOf: Date;
}

/**
 * A sort key for a canonical CIDR: family, address bytes, length — computed
 * once per address, not per comparison (sorting a million parsed pairs is
 * what a rebuild would otherwise spend most of its time on).
 */
export function cidrSortKey(cidr: string): string {
  const [address, length] = cidr.split('/') as [string, string];
  const bytes = ipaddr.parse(address).toByteArray();
  const hex = bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('');
  // IPv4 (4 bytes) before IPv6 (16 bytes); then the address; then shorter prefixes first.
  return `${bytes.length === 4 ? '4' : '6'}${hex}${length.padStart(3, '0')}`;
}

/** Distinct addresses of `pair` and `ip` exceptions, in numeric order: IPv4 before IPv6, then address, then length. */
export function listedAddresses(entries: AllowlistEntry[]): string[] {
  const addresses = new Set<string>();
  for (const entry of entries) {
    if (entry.scope !== 'helo') {
      entry.addresses.forEach((address) => addresses.add(address));
    }
  }
  return [...addresses]
    .map((cidr) => ({ cidr, key: cidrSortKey(cidr) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((item) => item.cidr);
}

/** Distinct HELO names of `helo` exceptions, in code-point order. */
export function listedHeloNames(entries: AllowlistEntry[]): string[] {
  return [...new Set(entries.filter((entry) => entry.scope === 'helo').map((entry) => entry.heloHostname))].sort();
}

const NOTES: Record<Exclude<Rendering, 'json'>, string> = {
  // cidr_table(5): the address must be the network address of its prefix; ours are canonical.
  'postfix-cidr': 'Postfix cidr_table for check_client_access, before reject_unknown_helo_hostname',
  // access(5): with parent_domain_matches_subdomains (default) a name also matches its subdomains.
  'postfix-helo': 'Postfix access(5) table for check_helo_access (postmap it), before reject_unknown_helo_hostname',
  'rspamd-ip': 'rspamd multimap, type ip',
  'rspamd-helo': 'rspamd multimap, type helo',
};

/** What comes before and after a rendering's entries: the comment header, or JSON's envelope. */
export function renderHead(rendering: Rendering, context: RenderContext, count: number): { head: string; tail: string } {
  if (rendering === 'json') {
    return {
      head: `{"version":${JSON.stringify(context.version.toString())},"generatedAt":${JSON.stringify(context.asOf.toISOString())},"entries":[`,
      tail: ']}\n',
    };
  }
  return { head: header(rendering, context, count, NOTES[rendering]), tail: '' };
}

function header(rendering: Rendering, context: RenderContext, count: number, note: string): string {
  return (
    `# HeloPass allowlist ${rendering}: version ${context.version}, as of ${context.asOf.toISOString()}, ${count} ${count === 1 ? 'entry' : 'entries'}\n` +
    `# ${note}\n`
  );
}

/**
 * Every rendering of one list, built from scratch (the reference the
 * incremental index is held to). The header is always there, so a body is
 * never empty (an empty map file looks like a failed download), and lines
 * are sorted, so equal lists give equal bytes.
 */
export function renderAll(entries: AllowlistEntry[], context: RenderContext): Record<Rendering, string> {
  const addresses = listedAddresses(entries);
  const names = listedHeloNames(entries);
  // cidr_table(5): the address must be the network address of its prefix; ours are canonical.
  const cidrNote = 'Postfix cidr_table for check_client_access, before reject_unknown_helo_hostname';
  // access(5): with parent_domain_matches_subdomains (default) a name also matches its subdomains.
  const accessNote = 'Postfix access(5) table for check_helo_access (postmap it), before reject_unknown_helo_hostname';
  // Code-point order, not localeCompare: the bytes must not depend on the machine's locale.
  const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...entries].sort(
    (a, b) => byCodePoint(a.heloHostname, b.heloHostname) || byCodePoint(a.exceptionId, b.exceptionId),
  );
  return {
    json:
      JSON.stringify({
        version: context.version.toString(),
        generatedAt: context.asOf.toISOString(),
        entries: sorted.map((entry) => ({
          exceptionId: entry.exceptionId,
          organizationId: entry.organizationId,
          scope: entry.scope,
          heloHostname: entry.heloHostname,
          addresses: entry.addresses,
          expiresAt: entry.expiresAt.toISOString(),
        })),
      }) + '\n',
    'postfix-cidr': header('postfix-cidr', context, addresses.length, cidrNote) + addresses.map((a) => `${a} OK\n`).join(''),
    'postfix-helo': header('postfix-helo', context, names.length, accessNote) + names.map((n) => `${n} OK\n`).join(''),
    'rspamd-ip': header('rspamd-ip', context, addresses.length, 'rspamd multimap, type ip') + addresses.map((a) => `${a}\n`).join(''),
    'rspamd-helo': header('rspamd-helo', context, names.length, 'rspamd multimap, type helo') + names.map((n) => `${n}\n`).join(''),
  };
}

/** In the list at `now`: started and not yet expired. */
export function inEffectAt(entry: Pick<AllowlistEntry, 'startsAt' | 'expiresAt'>, now: Date): boolean {
  return entry.startsAt <= now && now < entry.expiresAt;
}

/** The next instant the list changes by itself (a start or an expiry), after `now`. */
export function nextTransition(entries: AllowlistEntry[], now: Date): Date | null {
  let next: number | null = null;
  for (const entry of entries) {
    for (const instant of [entry.startsAt.getTime(), entry.expiresAt.getTime()]) {
      if (instant > now.getTime() && (next === null || instant < next)) {
        next = instant;
      }
    }
  }
  return next === null ? null : new Date(next);
}

/** The latest start or expiry at or before `now`: when the list last changed by itself. */
export function lastTransition(entries: AllowlistEntry[], now: Date): Date | null {
  let last: number | null = null;
  for (const entry of entries) {
    for (const instant of [entry.startsAt.getTime(), entry.expiresAt.getTime()]) {
      if (instant <= now.getTime() && (last === null || instant > last)) {
        last = instant;
      }
    }
  }
  return last === null ? null : new Date(last);
}
