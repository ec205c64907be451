import { isIP } from 'node:net';

/** DNS_RESOLVERS entries: parsing only, kept here so that the config library needs no DNS client. */

// RFC 1123 §2.1 host names; underscores too, as container and service names use them.
const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

export function parseResolverEntry(entry: string): { host: string; port: number | undefined } {
  const bad = (why: string) => new Error(`DNS resolver "${entry}" ${why}`);
  let host = entry;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracketed !== null) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (isIP(host) !== 6) {
      throw bad('has no IPv6 address between the brackets');
    }
  } else if (isIP(entry) === 6) {
    return { host: entry, port: undefined };
  } else if (entry.includes(':')) {
    const colon = entry.lastIndexOf(':');
    host = entry.slice(0, colon);
    portText = entry.slice(colon + 1);
    if (host.includes(':')) {
      throw bad('is not an IPv6 address; write an IPv6 address with a port as [address]:port');
    }
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw bad('has a port outside 1-65535');
    }
  }
  if (bracketed === null && isIP(host) === 0) {
    const name = host.endsWith('.') ? host.slice(0, -1) : host;
    if (/^[\d.]+$/.test(name)) {
      throw bad('is not a valid IPv4 address');
    }
    if (name.length === 0 || name.length > 253 || !name.split('.').every((label) => HOST_LABEL.test(label))) {
      throw bad('is not a host name or IP address');
    }
  }
  return { host, port };
}

/**
 * Validates a `DNS_RESOLVERS` value: comma-separated `host`, `host:port`,
 * IPv6 address or `[IPv6]:port` entries. Blank means the system's resolvers
 * (an empty list). Throws an Error naming the first bad entry.
 */
export function parseResolverList(text: string): string[] {
  if (text.trim() === '') {
    return [];
  }
  return text.split(',').map((raw) => {
    const entry = raw.trim();
    if (entry === '') {
      throw new Error(`DNS resolver list "${text}" has an empty entry`);
    }
    parseResolverEntry(entry);
    return entry;
  });
}

/**
 * DNS_CANARY_NAME's default. `a.root-servers.net` has named the first root
 * server since 1995, its address is in every resolver's root hints, and its
 * zone is run by the root-server operators themselves: a resolver that
 * cannot find it cannot find any public name. (A name of our own could lapse
 * or be taken down with us; the root itself has no A record to ask for.)
 */
export const DEFAULT_DNS_CANARY_NAME = 'a.root-servers.net';
