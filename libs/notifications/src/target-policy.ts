import ipaddr from 'ipaddr.js';
import type { WebhookTargetsConfig } from '@app/config';

/** Ranges WEBHOOK_ALLOW_PRIVATE_TARGETS=true opens: a network's own machines, never link-local or multicast. */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);

const RANGE_NAMES: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  reserved: 'reserved',
};

/** An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 address it is. */
function parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const parsed = ipaddr.parse(address);
  return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() ? (parsed as ipaddr.IPv6).toIPv4Address() : parsed;
}

/**
 * Which addresses a webhook may be delivered to. Only global unicast
 * addresses by default: a subscription URL must not make the worker reach
 * into the provider's own network (the database, a cloud's metadata service
 * at 169.254.169.254, an admin interface on loopback). Judged on the
 * addresses a name resolves to, at every hop, right before connecting.
 */
export class TargetPolicy {
  private readonly prefixes: ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

  constructor(private readonly config: WebhookTargetsConfig) {
    this.prefixes = config.allowedPrefixes.map((prefix) => ipaddr.parseCIDR(prefix));
  }

  /** Why `address` may not be reached ("a loopback address"), or null when it may. */
  refusal(address: string): string | null {
    if (!ipaddr.isValid(address)) {
      return 'not an IP address';
    }
    const parsed = parse(address);
    const range = parsed.range();
    if (range === 'unicast' || this.explicitlyAllowed(parsed)) {
      return null;
    }
    if (this.config.allowPrivateRanges && PRIVATE_RANGES.has(range)) {
      return null;
    }
    return `a ${RANGE_NAMES[range] ?? `non-public (${range})`} address`;
  }

  /** Whether the address is on the public internet (plain http goes only to allowed addresses that are not). */
  isPublic(address: string): boolean {
    return ipaddr.isValid(address) && parse(address).range() === 'unicast';
  }

  private explicitlyAllowed(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    return this.prefixes.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
  }
}
