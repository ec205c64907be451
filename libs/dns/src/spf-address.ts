/**
 * The addresses an SPF check is about (RFC 7208 §5.6): the subject, a single
 * address or a CIDR prefix, and how much of it a network covers.
 */
import ipaddr from 'ipaddr.js';

export type Ip = ipaddr.IPv4 | ipaddr.IPv6;
/** How much of the subject a term covers: all of it, possibly only part of it, or none of it. */
export type Coverage = 'all' | 'part' | 'none';

export interface Subject {
  address: Ip;
  family: 'ipv4' | 'ipv6';
  length: number;
  /** a single address rather than a wider prefix */
  host: boolean;
}

/** The longest text form of an IPv6 address (eight groups, or six and an IPv4 tail): 45 characters. */
const MAX_ADDRESS_LENGTH = 45;

/** Parses an address strictly: dotted-quad IPv4 only, IPv6 without zone. */
export function parseIp(text: string): Ip | null {
  // Customer DNS data: anything longer than an address is refused before any parser sees it.
  if (text.length > MAX_ADDRESS_LENGTH) {
    return null;
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return ipaddr.IPv4.parse(text);
  }
  if (!text.includes(':') || text.includes('%')) {
    return null;
  }
  // ipaddr.js reads an IPv4-compatible `::192.0.2.1` as IPv4-mapped, so an
  // embedded IPv4 tail is rewritten as two hex groups (as libs/domain does).
  let v6Text = text;
  const colon = text.lastIndexOf(':');
  const tail = text.slice(colon + 1);
  if (tail.includes('.')) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(tail)) {
      return null;
    }
    const [a, b, c, d] = ipaddr.IPv4.parse(tail).octets as [number, number, number, number];
    v6Text = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  return ipaddr.IPv6.isValid(v6Text) ? ipaddr.IPv6.parse(v6Text) : null;
}

/** A CIDR length without leading zeros (RFC 7208 §5.6 ABNF); the full length when absent. */
export function prefixLength(text: string | undefined, bits: number): number | null {
  if (text === undefined) {
    return bits;
  }
  return /^(0|[1-9]\d{0,2})$/.test(text) && Number(text) <= bits ? Number(text) : null;
}

export function parseSubject(text: string): Subject | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!ip) {
    return null;
  }
  let length = prefixLength(slash === -1 ? undefined : text.slice(slash + 1), ip.kind() === 'ipv4' ? 32 : 128);
  if (length === null) {
    return null;
  }
  let address: Ip = ip;
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) {
    // A client reaching the MTA over IPv4 may be reported as ::ffff:a.b.c.d.
    if (length < 96) {
      return null;
    }
    address = ip.toIPv4Address();
    length -= 96;
  }
  const family = address.kind();
  return { address, family, length, host: length === (family === 'ipv4' ? 32 : 128) };
}

export function coverage(subject: Subject, network: Ip, length: number): Coverage {
  if (network.kind() !== subject.family) {
    return 'none';
  }
  if (length <= subject.length) {
    return subject.address.match(network, length) ? 'all' : 'none';
  }
  // Two prefixes either nest or are disjoint: this network lies inside the subject.
  return network.match(subject.address, subject.length) ? 'part' : 'none';
}

export function bestCoverage(subject: Subject, addresses: string[], v4Length: number, v6Length: number): Coverage {
  let best: Coverage = 'none';
  for (const text of addresses) {
    const ip = parseIp(text);
    const covered = ip ? coverage(subject, ip, ip.kind() === 'ipv4' ? v4Length : v6Length) : 'none';
    if (covered === 'all') {
      return 'all';
    }
    if (covered === 'part') {
      best = 'part';
    }
  }
  return best;
}
