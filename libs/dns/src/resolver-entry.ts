import { isIP } from 'node:net';

/** Entries of DNS_RESOLVERS: parsing, and the names and forms the DNS client uses for them. */

/** `192.0.2.53:53`, `[2001:db8::53]:53`, `unbound:53`. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The form `Resolver.setServers()` takes. */
export function serverAddress(host: string, port: number | undefined): string {
  if (port === undefined) {
    return host;
  }
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export { parseResolverEntry, parseResolverList } from '@app/domain';
