import ipaddr from 'ipaddr.js';

/** A client address as the matcher keys it: IPv4 as an unsigned 32-bit number, IPv6 as 32 hex digits. */
export type AddressKey = { family: 4; value: number } | { family: 6; hex: string };

/** `a.b.c.d` as an unsigned 32-bit number, or null when it is not exactly that (no leading zeros, each part ≤ 255). */
function parseDottedQuad(text: string): number | null {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let index = 0; index <= text.length; index++) {
    const code = index === text.length ? 46 : text.charCodeAt(index);
    if (code === 46) {
      if (digits === 0 || parts === 4) {
        return null;
      }
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      if (digits > 0 && part === 0) {
        return null; // a leading zero: inet_aton would read octal, Postfix never sends it
      }
      part = part * 10 + (code - 48);
      digits++;
      if (part > 255) {
        return null;
      }
    } else {
      return null;
    }
  }
  return parts === 4 ? value : null;
}

function hexOf(bytes: number[]): string {
  let hex = '';
  for (const byte of bytes) {
    hex += (byte < 16 ? '0' : '') + byte.toString(16);
  }
  return hex;
}

/**
 * The key of a client address as Postfix sends it (`client_address`:
 * `192.0.2.1`, `2001:db8::1`), or null for anything else (`unknown`, empty).
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket
 * reports for an IPv4 client) is the IPv4 address it carries.
 */
export function addressKey(text: string): AddressKey | null {
  const v4 = parseDottedQuad(text);
  if (v4 !== null) {
    return { family: 4, value: v4 };
  }
  if (!text.includes(':') || text.length > 64) {
    return null;
  }
  let address: ipaddr.IPv6;
  try {
    address = ipaddr.IPv6.parse(text);
  } catch {
    return null;
  }
  if (address.isIPv4MappedAddress()) {
    const [a, b, c, d] = address.toIPv4Address().octets as [number, number, number, number];
    return { family: 4, value: ((a << 24) >>> 0) + (b << 16) + (c << 8) + d };
  }
  return { family: 6, hex: hexOf(address.toByteArray()) };
}

/** A canonical CIDR of an exception (`192.0.2.0/24`, `2001:db8::/48`) as a key and its length. */
export function prefixKey(cidr: string): { key: AddressKey; length: number } | null {
  const slash = cidr.indexOf('/');
  const key = addressKey(slash === -1 ? cidr : cidr.slice(0, slash));
  if (key === null) {
    return null;
  }
  let length = slash === -1 ? (key.family === 4 ? 32 : 128) : Number(cidr.slice(slash + 1));
  if (key.family === 4 && cidr.includes(':')) {
    length -= 96; // ::ffff:192.0.2.0/120 is 192.0.2.0/24
  }
  const bits = key.family === 4 ? 32 : 128;
  if (!Number.isInteger(length) || length < 0 || length > bits) {
    return null;
  }
  return { key, length };
}

/** The IPv4 network of `value` at `length` bits, as an unsigned number. */
export function maskIpv4(value: number, length: number): number {
  return length === 0 ? 0 : (value & (~0 << (32 - length))) >>> 0;
}

/** The IPv6 network of `hex` at `length` bits, as hex digits (only the digits the length covers, the last one masked). */
export function maskIpv6(hex: string, length: number): string {
  const whole = length >> 2;
  const rest = length & 3;
  if (rest === 0) {
    return hex.slice(0, whole);
  }
  const digit = parseInt(hex[whole]!, 16) & (0xf << (4 - rest)) & 0xf;
  return hex.slice(0, whole) + digit.toString(16);
}

/**
 * A HELO name as an exception names it: lowercase, without one trailing
 * dot (Postfix hands the name over as the client announced it). An address
 * literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`) names no host: exceptions
 * never hold one (the address is granted instead), so it matches by address
 * only, and so does an empty name.
 */
export function heloKey(heloName: string): string | null {
  if (heloName.length === 0 || heloName.charCodeAt(0) === 91 /* [ */) {
    return null;
  }
  const name = heloName.charCodeAt(heloName.length - 1) === 46 ? heloName.slice(0, -1) : heloName;
  return name.length === 0 ? null : name.toLowerCase();
}
