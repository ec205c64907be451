import ipaddr from 'ipaddr.js';

/** Why an address or prefix was refused; never contains the submitted value. */
export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
}

/**
 * The widest prefixes a mail server may hold. Anything wider is not "a mail
 * server" but a network, and no exception should ever cover it.
 */
export const MIN_PREFIX_LENGTH = { ipv4: 16, ipv6: 32 } as const;

export type AddressFamily = 'ipv4' | 'ipv6';

export interface CanonicalPrefix {
  /** `192.0.2.10/32`, `2001:db8::/64`: network address and length. */
  readonly cidr: string;
  readonly family: AddressFamily;
  readonly length: number;
}

function parseAddress(text: string): { address: ipaddr.IPv4 | ipaddr.IPv6; mapped: boolean } {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { address: ipaddr.IPv4.parse(text), mapped: false };
  }
  if (text.includes(':') && !text.includes('%')) {
    // An embedded IPv4 part (`::ffff:192.0.2.1`) must be in dotted-quad form
    // too. It is rewritten as two hex groups before parsing, because ipaddr.js
    // would take the IPv4-compatible `::192.0.2.1` for IPv4-mapped.
    let v6Text = text;
    const embedded = /^(.*:)([^:]*\.[^:]*)$/.exec(text);
    if (embedded) {
      if (!ipaddr.IPv4.isValidFourPartDecimal(embedded[2])) {
        throw new InvalidAddressError('must be an IPv4 address in dotted-quad form or an IPv6 address');
      }
      const [a, b, c, d] = ipaddr.IPv4.parse(embedded[2]).octets as [number, number, number, number];
      v6Text = `${embedded[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    }
    if (ipaddr.IPv6.isValid(v6Text)) {
      const v6 = ipaddr.IPv6.parse(v6Text);
      // A client reaching Postfix over IPv4 is reported as IPv4, so
      // an IPv4-mapped IPv6 address (::ffff:192.0.2.1) is stored as IPv4.
      return v6.isIPv4MappedAddress() ? { address: v6.toIPv4Address(), mapped: true } : { address: v6, mapped: false };
    }
  }
  throw new InvalidAddressError('must be an IPv4 address in dotted-quad form or an IPv6 address');
}

function render(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  return address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

/**
 * Parses a single address or a CIDR prefix into its canonical form. A prefix
 * whose host bits are set is refused rather than silently widened: Postfix's
 * cidr_table skips such an entry too (cidr_table(5)).
 */
export function normalizePrefix(input: string): CanonicalPrefix {
  if (typeof input !== 'string' || input.length === 0 || input.length > 64) {
    throw new InvalidAddressError('must be an IP address or CIDR prefix of at most 64 characters');
  }
  const slash = input.indexOf('/');
  const addressText = slash === -1 ? input : input.slice(0, slash);
  const lengthText = slash === -1 ? undefined : input.slice(slash + 1);
  const { address, mapped: wasMapped } = parseAddress(addressText);
  const family = address.kind() as AddressFamily;
  const bits = family === 'ipv4' ? 32 : 128;
  let length = bits;
  if (lengthText !== undefined) {
    if (!/^\d{1,3}$/.test(lengthText)) {
      throw new InvalidAddressError('has an invalid prefix length');
    }
    length = Number(lengthText);
    if (wasMapped && family === 'ipv4') {
      // ::ffff:192.0.2.0/120 is 192.0.2.0/24.
      length -= 96;
    }
    if (length < 0 || length > bits) {
      throw new InvalidAddressError(`prefix length must be between 0 and ${bits}`);
    }
  }
  if (length < MIN_PREFIX_LENGTH[family]) {
    throw new InvalidAddressError(
      `prefix is wider than /${MIN_PREFIX_LENGTH[family]}, the widest a mail server may hold`,
    );
  }
  const network =
    family === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${length}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${length}`);
  if (render(network) !== render(address)) {
    throw new InvalidAddressError('has host bits set; give the network address of the prefix');
  }
  return { cidr: `${render(network)}/${length}`, family, length };
}

/** Parses a single address (no prefix) into its canonical text form. */
export function normalizeAddress(input: string): string {
  if (typeof input !== 'string' || input.length === 0 || input.length > 64 || input.includes('/')) {
    throw new InvalidAddressError('must be a single IP address');
  }
  return render(parseAddress(input).address);
}

/**
 * `host:port` as URLs and logs write it: an IPv6 address goes in brackets
 * (`[::1]:10040`), a name or IPv4 address as it is.
 */
export function hostAndPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${String(port)}` : `${host}:${String(port)}`;
}

/**
 * PostgreSQL prints an `inet` host address without its length
 * (`192.0.2.10`); the API always shows the canonical `cidr` form.
 */
export function canonicalFromInet(value: string): string {
  if (value.includes('/')) {
    return value;
  }
  return value.includes(':') ? `${value}/128` : `${value}/32`;
}
