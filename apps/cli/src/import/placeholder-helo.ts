import { normalizeHeloHostname } from '@app/domain';

/**
 * The HELO name given to a mail server made from a cidr_table line, which
 * names only an address: `import-` and the address with `.` and `:` as `-`,
 * and `_<length>` for a prefix — `192.0.2.10/32` → `import-192-0-2-10`,
 * `198.51.100.0/28` → `import-198-51-100-0_28`, `2001:db8::/64` →
 * `import-2001-db8--_64`. One label, so it can never lie inside a customer's
 * domain (nor be proven by one); unique per prefix, so a re-import finds the
 * same server again. An `ip` exception matches any HELO from the address, so
 * the name only labels the server; a CSR may rename it to the real one later.
 */
export function placeholderHelo(cidr: string): string {
  const [address, length] = cidr.split('/') as [string, string];
  const single = Number(length) === (address.includes(':') ? 128 : 32);
  return normalizeHeloHostname(`import-${address.replace(/[.:]/g, '-')}${single ? '' : `_${length}`}`);
}
