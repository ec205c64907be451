import ipaddr from 'ipaddr.js';

/**
 * DNSBL_ZONES and DNSBL_DOMAIN_ZONES: parsing only, kept here (not in libs/dns)
 * so that the config library reads its settings without the DNS client.
 */

/** An inclusive range of IPv4 answer addresses, as 32-bit numbers. */
export interface ReturnCodeRange {
  readonly from: number;
  readonly to: number;
}

/** One DNS blocklist (a DNSxL, RFC 5782) and the answers that count as "listed". */
export interface BlocklistZone {
  /** Lowercase, without a trailing dot: `zen.spamhaus.org`. */
  readonly name: string;
  /** Absent: any answer in 127.0.0.0/8 counts as listed (RFC 5782 §2.1), error answers aside. */
  readonly codes?: readonly ReturnCodeRange[];
}

/** 127.0.0.0/8: where RFC 5782 §2.1 puts list answers. */
export const BLOCKLIST_ANSWER_RANGE = { from: 127 * 2 ** 24, to: 128 * 2 ** 24 - 1 };
/** 127.255.255.0/24, the lists' error answers (see libs/dns, classifyBlocklistAnswer). */
export const BLOCKLIST_ERROR_RANGE = { from: BLOCKLIST_ANSWER_RANGE.to - 255, to: BLOCKLIST_ANSWER_RANGE.to };

// RFC 1035 §2.3.1 labels; underscores too, as some list operators use them.
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function toNumber(address: ipaddr.IPv4): number {
  return address.octets.reduce((value, octet) => value * 256 + octet, 0);
}

function parseCode(text: string, where: string): ReturnCodeRange {
  const bad = () => new Error(`${where}: "${text}" is not an IPv4 address, an address range a-b or a CIDR prefix`);
  let range: ReturnCodeRange;
  if (text.includes('/')) {
    let cidr: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      cidr = ipaddr.IPv4.parseCIDR(text);
    } catch {
      throw bad();
    }
    const [network, length] = cidr as [ipaddr.IPv4, number];
    const from = toNumber(ipaddr.IPv4.networkAddressFromCIDR(`${network.toString()}/${length}`));
    range = { from, to: from + 2 ** (32 - length) - 1 };
  } else {
    const [first, last = first, ...rest] = text.split('-');
    if (rest.length > 0 || first === undefined || !ipaddr.IPv4.isValidFourPartDecimal(first) || !ipaddr.IPv4.isValidFourPartDecimal(last)) {
      throw bad();
    }
    range = { from: toNumber(ipaddr.IPv4.parse(first)), to: toNumber(ipaddr.IPv4.parse(last)) };
    if (range.from > range.to) {
      throw new Error(`${where}: range "${text}" ends before it starts`);
    }
  }
  if (range.from < BLOCKLIST_ANSWER_RANGE.from || range.to > BLOCKLIST_ANSWER_RANGE.to) {
    // RFC 5782 §2.1: list entries answer with addresses in 127.0.0.0/8; anything else is not a listing.
    throw new Error(`${where}: return code "${text}" is outside 127.0.0.0/8`);
  }
  return range;
}

function fromNumber(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/**
 * Parses a `DNSBL_ZONES` / `DNSBL_DOMAIN_ZONES` value: comma-separated zones,
 * each optionally followed by `:`-separated return codes (an address, a range
 * `a-b` or a CIDR prefix), e.g.
 * `zen.spamhaus.org:127.0.0.2-127.0.0.11,bl.example.net`. Blank means no
 * zones (the check is off). Throws an Error naming the first bad entry.
 */
export function parseBlocklistZones(text: string): BlocklistZone[] {
  if (text.trim() === '') {
    return [];
  }
  const seen = new Set<string>();
  return text.split(',').map((raw) => {
    const entry = raw.trim();
    if (entry === '') {
      throw new Error('has an empty entry');
    }
    const [zoneText = '', ...codeTexts] = entry.split(':');
    const lower = zoneText.toLowerCase();
    const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
    if (name.length === 0 || name.length > 190 || !name.includes('.') || !name.split('.').every((label) => LABEL.test(label))) {
      // 190: an IPv6 query name puts 64 octets in front of the zone, and a name has at most 253 (RFC 1035 §2.3.4).
      throw new Error(`zone "${zoneText}" is not a DNS zone name of at most 190 characters`);
    }
    if (seen.has(name)) {
      throw new Error(`zone "${name}" is listed twice`);
    }
    seen.add(name);
    if (codeTexts.length === 0) {
      return { name };
    }
    const codes = codeTexts.map((code) => parseCode(code.trim(), `zone "${name}"`));
    for (const code of codes) {
      if (code.from <= BLOCKLIST_ERROR_RANGE.to && code.to >= BLOCKLIST_ERROR_RANGE.from) {
        throw new Error(`zone "${name}": return codes in 127.255.255.0/24 are the lists' error answers, never listings`);
      }
    }
    return { name, codes };
  });
}

/** Renders a zone back in the `DNSBL_ZONES` syntax (for logs and reports). */
export function formatBlocklistZone(zone: BlocklistZone): string {
  const codes = (zone.codes ?? []).map(({ from, to }) => (from === to ? fromNumber(from) : `${fromNumber(from)}-${fromNumber(to)}`));
  return [zone.name, ...codes].join(':');
}

