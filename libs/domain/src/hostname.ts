import { domainToASCII } from 'node:url';
import { isIP } from 'node:net';

/** Why a HELO name was refused; never contains the submitted value. */
export class InvalidHostnameError extends Error {
  override readonly name = 'InvalidHostnameError';
}

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
// RFC 5321 §4.1.2 allows letters, digits and hyphens; misconfigured servers,
// the ones this product exists for, also announce underscores.
const LABEL = /^[a-z0-9_-]+$/;

/**
 * Normalizes a HELO/EHLO name as a server announces it: lowercase, without the
 * trailing dot, IDN in A-labels. Single labels (`exch01`) and underscores are
 * accepted; address literals, empty labels and characters no mail server can
 * send are refused.
 */
export function normalizeHeloHostname(input: string): string {
  if (typeof input !== 'string' || input.length === 0) {
    throw new InvalidHostnameError('must not be empty');
  }
  if (input.length > MAX_NAME_LENGTH + 1) {
    throw new InvalidHostnameError(`must be at most ${MAX_NAME_LENGTH} characters`);
  }
  if (input.startsWith('[')) {
    throw new InvalidHostnameError('is an address literal; register the address instead, such a server is matched by it');
  }
  if (/\s/.test(input)) {
    throw new InvalidHostnameError('must not contain spaces');
  }
  let name = input.endsWith('.') ? input.slice(0, -1) : input;
  if (isIP(name) !== 0) {
    throw new InvalidHostnameError('is an IP address, not a host name; register the address instead');
  }
  if (/[^\x21-\x7e]/.test(name)) {
    // Non-ASCII: an internationalized name, converted to A-labels (RFC 5891).
    // domainToASCII parses its input as a URL host: it would cut the name at
    // `/`, `?` or `#` and percent-decode it, so other ASCII is refused first.
    if (/[^A-Za-z0-9._\-\u0080-\uffff]/.test(name)) {
      throw new InvalidHostnameError('may contain only letters, digits, hyphens and underscores');
    }
    const ascii = domainToASCII(name);
    if (ascii === '') {
      throw new InvalidHostnameError('is not a valid internationalized domain name');
    }
    name = ascii;
    // Full-width digits and dots map to a bare IP address (`１９２．０．２．１`).
    if (isIP(name) !== 0) {
      throw new InvalidHostnameError('is an IP address, not a host name; register the address instead');
    }
  }
  name = name.toLowerCase();
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidHostnameError(`must be at most ${MAX_NAME_LENGTH} characters`);
  }
  for (const label of name.split('.')) {
    if (label.length === 0) {
      throw new InvalidHostnameError('must not contain empty labels');
    }
    if (label.length > MAX_LABEL_LENGTH) {
      throw new InvalidHostnameError(`labels must be at most ${MAX_LABEL_LENGTH} characters`);
    }
    if (!LABEL.test(label)) {
      throw new InvalidHostnameError('may contain only letters, digits, hyphens and underscores');
    }
  }
  return name;
}
