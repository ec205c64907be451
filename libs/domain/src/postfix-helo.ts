/**
 * How Postfix's smtpd(8) judges a HELO/EHLO argument with
 * `reject_invalid_helo_hostname` and `reject_unknown_helo_hostname`
 * (postconf(5); smtpd_check.c, valid_hostname.c, valid_hostaddr.c of Postfix
 * 3.x), so that diagnostics predict the reply a real Postfix gives. The
 * truth is the real Postfix: scripts/mailhost/helo-table.json lists HELO
 * forms with the reply Postfix 3.7 gave each, and both this module's spec and
 * scripts/mailhost/verify.sh (against the real program) check every row.
 *
 * What Postfix does, in short:
 * - the argument is the rest of the command line, blanks around it dropped
 *   and each inner run of blanks made one space;
 * - `reject_invalid_helo_hostname`: a name starting with `[` must be an
 *   address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`, the tag in any case);
 *   anything else, one trailing dot removed, must be a valid host name or a
 *   bare IP address ("back compat") — else `501 5.5.2 … Invalid name` /
 *   `… invalid ip address`;
 * - `reject_unknown_helo_hostname` skips address literals (it only checks
 *   their syntax again) and looks the name up as announced — A, AAAA, then
 *   MX — where a trailing dot or a bare address is "not found" without asking
 *   DNS: `450 4.7.1 … Host not found`, a null MX counting as found. Only when
 *   every lookup failed temporarily does Postfix defer (the same reply, by
 *   `unknown_helo_hostname_tempfail_action`).
 */

export type HeloForm = 'hostname' | 'address_literal' | 'address' | 'none';

export interface PostfixHeloArgument {
  /** The argument as Postfix holds it: blanks around removed, each inner run of blanks one space; empty when none. */
  name: string;
  /** As Postfix quotes it in a reply: blanks, control characters and `<>()\";@` each shown as `?`. */
  shown: string;
  form: HeloForm;
  /** Passes `reject_invalid_helo_hostname`. */
  valid: boolean;
  /** Why it does not, in words; never repeats the name. */
  problem: string | null;
  /**
   * The name `reject_unknown_helo_hostname` asks DNS about (lowercase), or
   * null when it decides without DNS: an address literal (accepted), a bare
   * address, a trailing dot or a name too long for DNS (not found).
   */
  lookup: string | null;
}

/** What one of Postfix's lookups of the name (A, AAAA, MX) came to. */
export type HeloLookupResult = 'found' | 'not_found' | 'unknown';

export interface PostfixHeloVerdict {
  /** null: DNS could not tell, Postfix would defer. */
  rejected: boolean | null;
  reply: string | null;
  restriction: 'reject_invalid_helo_hostname' | 'reject_unknown_helo_hostname' | null;
  explanation: string;
}

const MAX_LABEL = 63;
/** valid_hostname.c's limit; a DNS name holds at most 253 characters in text form (RFC 1035 §2.3.4). */
const MAX_HOSTNAME = 255;
const MAX_DNS_NAME = 253;
/** Characters smtpd shows as `?` when it quotes the name back (besides controls). */
const NEUTERED = new Set(' <>()\\";@');

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

function isHex(ch: string): boolean {
  return isDigit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

function isAsciiAlnum(ch: string): boolean {
  return isDigit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/** Why `name` is not a host name as valid_hostname.c sees it (ASCII letters, digits, `-`, `_`), or null. */
export function postfixHostnameProblem(name: string): string | null {
  if (name.length === 0) {
    return 'is empty';
  }
  let labelLength = 0;
  let nonNumeric = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    const next = name[i + 1];
    if (isAsciiAlnum(ch) || ch === '_') {
      labelLength += 1;
      if (labelLength > MAX_LABEL) {
        return `has a label longer than ${MAX_LABEL} characters`;
      }
      nonNumeric ||= !isDigit(ch);
    } else if (ch === '.') {
      if (labelLength === 0 || next === undefined) {
        return 'has an empty label (two dots in a row, or a dot at the start or the end)';
      }
      labelLength = 0;
    } else if (ch === '-') {
      nonNumeric = true;
      labelLength += 1;
      if (labelLength === 1 || next === undefined || next === '.') {
        return 'has a label that starts or ends with a hyphen';
      }
    } else {
      return 'may contain only letters, digits, hyphens, underscores and dots (no blanks, no other characters, no UTF-8)';
    }
  }
  if (!nonNumeric) {
    return 'is all digits and dots, which is no host name (an address belongs in brackets: [192.0.2.1])';
  }
  if (name.length > MAX_HOSTNAME) {
    return `is longer than ${MAX_HOSTNAME} characters`;
  }
  return null;
}

/** valid_ipv4_hostaddr: four decimal octets of at most 255 (leading zeros allowed), no `0.x.y.z` but `0.0.0.0`. */
export function isPostfixIpv4(address: string): boolean {
  const octets = address.split('.');
  if (octets.length !== 4 || !octets.every((octet) => octet.length > 0 && [...octet].every(isDigit) && Number(octet) <= 255)) {
    return false;
  }
  return Number(octets[0]) !== 0 || /^[0.]+$/.test(address);
}

/**
 * valid_ipv6_hostaddr: at least two and at most seven colons, groups of one
 * to four hex digits, one `::` at most, and an IPv4 tail only after the second
 * to sixth colon. No zone index (`%eth0`).
 */
export function isPostfixIpv6(address: string): boolean {
  let colons = 0;
  let compressedAfter = -1; // the number of colons before the `::`
  let i = 0;
  let groupLength = 0;
  while (i < address.length) {
    const ch = address[i]!;
    if (ch === ':') {
      // A leading single colon (`:1::`) has no group before it.
      if (colons === 0 && groupLength === 0 && isAsciiAlnum(address[i + 1] ?? '')) {
        return false;
      }
      colons += 1;
      if (colons > 7) {
        return false;
      }
      i += 1;
      groupLength = 0;
      if (address[i] === ':') {
        if (compressedAfter > 0) {
          return false;
        }
        compressedAfter = colons;
      }
    } else if (ch === '.') {
      if (colons < 2 || colons > 6) {
        return false;
      }
      return isPostfixIpv4(address.slice(i - groupLength));
    } else {
      let run = 0;
      while (i + run < address.length && isHex(address[i + run]!)) {
        run += 1;
      }
      if (run === 0 || run > 4) {
        return false;
      }
      i += run;
      groupLength = run;
    }
  }
  return colons >= 2 && (groupLength > 0 || compressedAfter === colons - 1);
}

/** valid_hostaddr: a bare address, IPv6 when it holds a colon. */
function isPostfixAddress(text: string): boolean {
  return text.length > 0 && (text.includes(':') ? isPostfixIpv6(text) : isPostfixIpv4(text));
}

/** valid_mailhost_addr, inside the brackets: `IPv6:` (any case) and an IPv6 address, or an IPv4 address. */
function isPostfixAddressLiteral(name: string): boolean {
  const inner = name.length > 2 && name.endsWith(']') ? name.slice(1, -1) : name;
  return /^ipv6:/i.test(inner) ? isPostfixIpv6(inner.slice(5)) : isPostfixIpv4(inner);
}

function show(name: string): string {
  let shown = '';
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    shown += NEUTERED.has(ch) || code < 0x20 || code === 0x7f ? '?' : ch;
  }
  return shown;
}

/** Reads an EHLO argument the way smtpd(8) does. */
export function readHeloArgument(raw: string): PostfixHeloArgument {
  const name = raw
    .split(/[ \t\r\n\v\f]+/)
    .filter((part) => part.length > 0)
    .join(' ');
  const shown = show(name);
  if (name.length === 0) {
    return { name, shown, form: 'none', valid: false, problem: 'no name follows EHLO', lookup: null };
  }
  if (name.startsWith('[')) {
    const valid = isPostfixAddressLiteral(name);
    return {
      name,
      shown,
      form: 'address_literal',
      valid,
      problem: valid ? null : 'is not a valid address literal: write [192.0.2.1] or [IPv6:2001:db8::1]',
      lookup: null,
    };
  }
  // One trailing dot is forgiven by the syntax check ("dot but not dot-dot").
  const tested = name.length > 1 && name.endsWith('.') && !name.endsWith('..') ? name.slice(0, -1) : name;
  const problem = postfixHostnameProblem(tested);
  if (problem !== null && isPostfixAddress(tested)) {
    return { name, shown, form: 'address', valid: true, problem: null, lookup: null };
  }
  // DNS is asked only about a name that is valid as announced: with its trailing dot it is not.
  const askable = problem === null && tested === name && name.length <= MAX_DNS_NAME;
  return { name, shown, form: 'hostname', valid: problem === null, problem, lookup: askable ? name.toLowerCase() : null };
}

const reject = (code: '501 5.5.2' | '450 4.7.1', shown: string, what: string) => `${code} <${shown}>: Helo command rejected: ${what}`;

/**
 * Postfix's answer to the argument with `smtpd_helo_restrictions =
 * reject_invalid_helo_hostname, reject_unknown_helo_hostname`, given what
 * its lookups of `argument.lookup` found (ignored when it is null).
 * Of several lookups the best result counts: one found is enough; one "not
 * found" beats failures (dns_lookup.c keeps the most decisive status).
 */
export function postfixHeloVerdict(argument: PostfixHeloArgument, lookups: readonly HeloLookupResult[]): PostfixHeloVerdict {
  const { shown } = argument;
  if (argument.form === 'none') {
    return { rejected: true, reply: '501 Syntax: EHLO hostname', restriction: null, explanation: 'No name follows EHLO; smtpd refuses the command itself.' };
  }
  if (!argument.valid) {
    const literal = argument.form === 'address_literal';
    return {
      rejected: true,
      reply: reject('501 5.5.2', shown, literal ? 'invalid ip address' : 'Invalid name'),
      restriction: 'reject_invalid_helo_hostname',
      explanation: `The ${literal ? 'address literal' : 'name'} ${argument.problem}, so reject_invalid_helo_hostname refuses it.`,
    };
  }
  if (argument.form === 'address_literal') {
    return {
      rejected: false,
      reply: null,
      restriction: null,
      explanation: 'An address literal is valid HELO syntax (RFC 5321 §4.1.3); reject_unknown_helo_hostname does not look it up, so both checks let it through.',
    };
  }
  const notFound = (explanation: string): PostfixHeloVerdict => ({
    rejected: true,
    reply: reject('450 4.7.1', shown, 'Host not found'),
    restriction: 'reject_unknown_helo_hostname',
    explanation,
  });
  if (argument.lookup === null) {
    if (argument.form === 'address') {
      return notFound('A bare IP address passes the syntax check, but reject_unknown_helo_hostname never finds it in DNS (an address must be written in brackets: [192.0.2.1]).');
    }
    if (argument.name.endsWith('.')) {
      return notFound('Postfix does not look up a name announced with a trailing dot: reject_unknown_helo_hostname takes it as not found, whatever its records.');
    }
    return notFound(`The name is longer than the ${MAX_DNS_NAME} characters a DNS name may have, so it cannot be found.`);
  }
  if (lookups.includes('found')) {
    return { rejected: false, reply: null, restriction: null, explanation: 'The name has an A, AAAA or MX record, so reject_unknown_helo_hostname lets it through.' };
  }
  if (lookups.includes('not_found')) {
    return notFound('The name has no A, AAAA or MX record in DNS.');
  }
  return {
    rejected: null,
    reply: reject('450 4.7.1', shown, 'Host not found'),
    restriction: 'reject_unknown_helo_hostname',
    explanation:
      'DNS could not be read: Postfix would defer with this temporary reply (unknown_helo_hostname_tempfail_action) until it can tell. This is not the same as "no record".',
  };
}
