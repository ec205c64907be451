import { parse } from 'tldts';

/**
 * Special-use names (IANA's Special-Use Domain Names registry and ICANN's
 * private-use reservation) that no public DNS server answers for: whatever a
 * customer publishes under them, nobody outside their own network sees it.
 * Names the registry lists that do resolve publicly (`example.com`,
 * `ipv4only.arpa`) are not here. Longest suffix first is not needed: a name
 * lies under at most one of them.
 */
const SPECIAL_USE: ReadonlyArray<{ suffix: string; why: string }> = [
  { suffix: 'local', why: 'reserved for multicast DNS on a local network (RFC 6762)' },
  { suffix: 'localhost', why: 'reserved for the machine itself (RFC 6761 §6.3)' },
  { suffix: 'internal', why: 'reserved by ICANN for private networks (2024)' },
  { suffix: 'home.arpa', why: 'reserved for home networks (RFC 8375)' },
  { suffix: 'service.arpa', why: 'reserved for service registration on a local network (RFC 9665)' },
  { suffix: 'test', why: 'reserved for testing (RFC 6761 §6.2)' },
  { suffix: 'example', why: 'reserved for documentation (RFC 6761 §6.5)' },
  { suffix: 'invalid', why: 'reserved for names that must not resolve (RFC 6761 §6.4)' },
  { suffix: 'onion', why: 'reserved for Tor onion services, which are not in DNS (RFC 7686)' },
  { suffix: 'alt', why: 'reserved for name systems other than DNS (RFC 9476)' },
];

/**
 * Why `name` (normalized: lowercase, no trailing dot, A-labels) can never
 * resolve in the public DNS, or null when it can. Such a name is either
 * special-use (above), or under a top-level label that is not delegated in
 * the root zone (a single label is such a label itself): not on the Public Suffix List's ICANN section
 * (tldts' copy), which lists every delegated TLD — `corp`, `lan`, `home`,
 * `localdomain` are not. The reason never repeats the name itself.
 */
export function neverPublicReason(name: string): string | null {
  for (const { suffix, why } of SPECIAL_USE) {
    if (name === suffix || name.endsWith(`.${suffix}`)) {
      return `.${suffix} is ${why}`;
    }
  }
  const tld = name.slice(name.lastIndexOf('.') + 1);
  if (parse(tld, { allowPrivateDomains: false, validateHostname: false }).isIcann === true) {
    // A delegated top-level domain (`com` itself is one, if no host's name).
    return null;
  }
  if (!name.includes('.')) {
    return 'a single label without a dot is never a name in the public DNS';
  }
  return 'its top-level label is not a top-level domain of the public DNS (it is used only inside private networks)';
}
