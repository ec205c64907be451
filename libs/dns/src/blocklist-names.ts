import ipaddr from 'ipaddr.js';

/** RFC 1035 §2.3.4: at most 253 characters in the usual text form, without the trailing dot. */
const MAX_NAME_LENGTH = 253;

function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) {
    return ipaddr.IPv4.parse(address);
  }
  if (!address.includes(':') || !ipaddr.IPv6.isValid(address)) {
    return undefined;
  }
  const v6 = ipaddr.IPv6.parse(address);
  // An IPv4-mapped address is an IPv4 client (as Postfix reports it), listed under its IPv4 name.
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/**
 * The name to ask a DNS blocklist about an address: RFC 5782 §2.1 (IPv4:
 * the octets in reverse order, `2.0.0.127.<zone>`) and §2.4 (IPv6: every
 * nibble of the full 128 bits, least significant first, 32 labels).
 * Undefined when the text is not an address or the name would be too long.
 */
export function addressQueryName(address: string, zone: string): string | undefined {
  const parsed = parseAddress(address);
  if (parsed === undefined) {
    return undefined;
  }
  const bytes = parsed.toByteArray();
  const labels =
    bytes.length === 4 ? bytes.reverse().map(String) : bytes.flatMap((byte) => [(byte >> 4).toString(16), (byte & 0x0f).toString(16)]).reverse();
  return withinLength(`${labels.join('.')}.${zone}`);
}

/**
 * The name to ask a domain blocklist about a host or domain name: RFC 5782
 * §2.3, the name itself in front of the zone (`mail.example.com.<zone>`),
 * compared without regard to case (RFC 4343). Undefined when the name is
 * empty, not a name or the result would be longer than a DNS name may be.
 */
export function domainQueryName(name: string, zone: string): string | undefined {
  const lower = name.trim().toLowerCase();
  const bare = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  if (bare === '' || bare.split('.').some((label) => label.length === 0 || label.length > 63)) {
    return undefined;
  }
  return withinLength(`${bare}.${zone}`);
}

function withinLength(name: string): string | undefined {
  return name.length <= MAX_NAME_LENGTH ? name : undefined;
}

/** Which addresses of a prefix are looked up, and how many it holds. */
export interface PrefixProbe {
  /** The prefix as given. */
  readonly prefix: string;
  readonly addresses: readonly string[];
  /** How many addresses the prefix holds: decimal, or `2^n` for IPv6 prefixes past 2^53. */
  readonly total: string;
  /** True when only some of its addresses are looked up. */
  readonly partial: boolean;
}

/**
 * Picks the addresses of a mail server's prefix to look up. An IPv4 prefix of
 * at most `maxAddresses` addresses is looked up address by address (a /24 by
 * default: 256 queries per zone). A wider IPv4 prefix, and any IPv6 prefix, is
 * looked up at its network address only and reported as partial: an IPv4 /16
 * would be 65,536 queries per zone per check, and an IPv6 prefix cannot be
 * walked at all (a /64 alone holds 2^64 addresses; IPv6 lists answer for
 * whole networks through wildcards, so the network address stands for
 * the rest as well as any single address can).
 * Undefined when the text is not an address or CIDR prefix.
 */
export function prefixProbe(prefix: string, maxAddresses: number): PrefixProbe | undefined {
  const slash = prefix.indexOf('/');
  const address = parseAddress(slash === -1 ? prefix : prefix.slice(0, slash));
  if (address === undefined) {
    return undefined;
  }
  const bits = address.kind() === 'ipv4' ? 32 : 128;
  let length = bits;
  if (slash !== -1) {
    const lengthText = prefix.slice(slash + 1);
    // An IPv4-mapped prefix (::ffff:192.0.2.0/120) counts its length in IPv6 bits.
    const offset = address.kind() === 'ipv4' && prefix.includes(':') ? 96 : 0;
    length = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) - offset : Number.NaN;
    if (!(length >= 0 && length <= bits)) {
      return undefined;
    }
  }
  const hostBits = bits - length;
  const network = networkAddress(address, length);
  const total = hostBits <= 53 ? String(2 ** hostBits) : `2^${hostBits}`;
  if (hostBits === 0) {
    return { prefix, addresses: [network.toString()], total, partial: false };
  }
  if (address.kind() === 'ipv4' && 2 ** hostBits <= maxAddresses) {
    const first = (network as ipaddr.IPv4).octets.reduce((value, octet) => value * 256 + octet, 0);
    const addresses = Array.from({ length: 2 ** hostBits }, (_, index) => {
      const value = first + index;
      return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
    });
    return { prefix, addresses, total, partial: false };
  }
  const text = network.kind() === 'ipv6' ? (network as ipaddr.IPv6).toRFC5952String() : network.toString();
  return { prefix, addresses: [text], total, partial: true };
}

function networkAddress(address: ipaddr.IPv4 | ipaddr.IPv6, length: number): ipaddr.IPv4 | ipaddr.IPv6 {
  const bytes = address.toByteArray().map((byte, index) => {
    const keep = Math.max(0, Math.min(8, length - index * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
  return ipaddr.fromByteArray(bytes);
}
