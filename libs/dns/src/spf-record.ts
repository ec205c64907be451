/**
 * SPF records (RFC 7208 §4.5, §5, §6): which TXT records are SPF records, and
 * the syntax of their terms. The record's length and term count are checked
 * before anything else, and every term is read in one pass without regular
 * expressions that could backtrack (see spf-macros.ts).
 */
import { MAX_SPF_RECORD_LENGTH, MAX_SPF_TERMS } from './limits.js';
import { parseIp, prefixLength, type Ip } from './spf-address.js';
import { domainSpecProblem } from './spf-macros.js';

export type Qualifier = '+' | '-' | '~' | '?';

export interface Mechanism {
  term: string;
  qualifier: Qualifier;
  kind: 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';
  domainSpec: string | null;
  network: Ip | null;
  v4Length: number;
  v6Length: number;
}

export interface SpfRecord {
  mechanisms: Mechanism[];
  redirect: { term: string; domainSpec: string } | null;
}

const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
const isLetter = (code: number) => (code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a;

/** The TXT records that are SPF records. */
export function selectSpfRecords(records: string[]): string[] {
  // §4.5: "v=spf1" followed by a space or the end, in any case. Only the first seven characters are read.
  return records.filter((text) => text.slice(0, 6).toLowerCase() === 'v=spf1' && (text.length === 6 || text[6] === ' '));
}

/** Why a record is too big to evaluate, or null. Asked before the record is parsed. */
export function recordSizeProblem(text: string): string | null {
  return text.length > MAX_SPF_RECORD_LENGTH
    ? `it is ${text.length} characters long, more than the ${MAX_SPF_RECORD_LENGTH} HeloPass evaluates (RFC 7208 §3.4 asks for at most 450); it was not parsed`
    : null;
}

/** The end of a name = ALPHA *( ALPHA / DIGIT / extra ) starting at `start`, or `start` when there is none. */
function nameEnd(text: string, start: number, extra: string): number {
  if (!isLetter(text.charCodeAt(start))) {
    return start;
  }
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (!isLetter(code) && !isDigit(code) && !extra.includes(text[i]!)) {
      break;
    }
    i += 1;
  }
  return i;
}

/** The trailing `/<digits>` and `//<digits>` of an a or mx term (§5.3, §5.4), read from the end. */
function splitCidr(rest: string): { head: string; v4: string | undefined; v6: string | undefined } {
  const digitsBefore = (end: number) => {
    let start = end;
    while (start > 0 && isDigit(rest.charCodeAt(start - 1))) {
      start -= 1;
    }
    return start;
  };
  let end = rest.length;
  let v4: string | undefined;
  let v6: string | undefined;
  let start = digitsBefore(end);
  if (start < end && start >= 2 && rest[start - 1] === '/' && rest[start - 2] === '/') {
    v6 = rest.slice(start, end);
    end = start - 2;
    start = digitsBefore(end);
  }
  if (start < end && start >= 1 && rest[start - 1] === '/') {
    v4 = rest.slice(start, end);
    end = start - 1;
  }
  return { head: rest.slice(0, end), v4, v6 };
}

function parseMechanism(term: string): Mechanism | string {
  const qualified = '+-~?'.includes(term[0] ?? ' ');
  const nameStart = qualified ? 1 : 0;
  const nameStop = nameEnd(term, nameStart, '');
  if (nameStop === nameStart) {
    return `"${term}" is not a mechanism or modifier`;
  }
  const qualifier = (qualified ? term[0] : '+') as Qualifier;
  const written = term.slice(nameStart, nameStop);
  const name = written.toLowerCase();
  const rest = term.slice(nameStop);
  const base = { term, qualifier, domainSpec: null, network: null, v4Length: 32, v6Length: 128 };
  const malformed = `"${term}" is malformed`;
  switch (name) {
    case 'all':
      return rest === '' ? { ...base, kind: name } : malformed;
    case 'include':
    case 'exists':
    case 'ptr': {
      if (name === 'ptr' && rest === '') {
        return { ...base, kind: name };
      }
      const problem = rest.startsWith(':') ? domainSpecProblem(rest.slice(1)) : 'needs ":" and a domain';
      return problem ? `"${term}" ${problem}` : { ...base, kind: name, domainSpec: rest.slice(1) };
    }
    case 'a':
    case 'mx': {
      // a[:domain][/ip4-cidr][//ip6-cidr] (§5.3, §5.4)
      const { head, v4, v6 } = splitCidr(rest);
      const v4Length = prefixLength(v4, 32);
      const v6Length = prefixLength(v6, 128);
      if ((head !== '' && !head.startsWith(':')) || v4Length === null || v6Length === null) {
        return malformed;
      }
      const problem = head === '' ? null : domainSpecProblem(head.slice(1));
      return problem
        ? `"${term}" ${problem}`
        : { ...base, kind: name, domainSpec: head === '' ? null : head.slice(1), v4Length, v6Length };
    }
    case 'ip4':
    case 'ip6': {
      // ip4:<address>[/<length>] (§5.6)
      if (!rest.startsWith(':')) {
        return malformed;
      }
      const slash = rest.indexOf('/', 1);
      const address = slash === -1 ? rest.slice(1) : rest.slice(1, slash);
      const network = address === '' ? null : parseIp(address);
      const bits = name === 'ip4' ? 32 : 128;
      const networkLength = prefixLength(slash === -1 ? undefined : rest.slice(slash + 1), bits);
      if (!network || network.kind() !== (name === 'ip4' ? 'ipv4' : 'ipv6') || networkLength === null) {
        return malformed;
      }
      return { ...base, kind: name, network, v4Length: networkLength, v6Length: networkLength };
    }
    default:
      return `unknown mechanism "${written}"`;
  }
}

/** The terms of a record, split at spaces; null when there are more than MAX_SPF_TERMS. */
function terms(text: string): string[] | null {
  const found: string[] = [];
  let start = 'v=spf1'.length;
  for (let i = start; i <= text.length; i++) {
    if (i === text.length || text[i] === ' ') {
      if (i > start) {
        if (found.length === MAX_SPF_TERMS) {
          return null;
        }
        found.push(text.slice(start, i));
      }
      start = i + 1;
    }
  }
  return found;
}

/** Parses the whole record first: a syntax error anywhere is a permerror (§4.6). */
export function parseRecord(text: string): SpfRecord | string {
  const tooBig = recordSizeProblem(text);
  if (tooBig !== null) {
    return tooBig;
  }
  const list = terms(text);
  if (list === null) {
    return `it has more than ${MAX_SPF_TERMS} terms, more than HeloPass evaluates`;
  }
  const record: SpfRecord = { mechanisms: [], redirect: null };
  let exp = false;
  for (const term of list) {
    // modifier = name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) (§6, §12)
    const nameStop = nameEnd(term, 0, '-_.');
    if (nameStop === 0 || term[nameStop] !== '=') {
      const mechanism = parseMechanism(term);
      if (typeof mechanism === 'string') {
        return mechanism;
      }
      record.mechanisms.push(mechanism);
      continue;
    }
    const name = term.slice(0, nameStop).toLowerCase();
    const value = term.slice(nameStop + 1);
    if (name !== 'redirect' && name !== 'exp') {
      continue; // unknown modifiers are ignored (§6)
    }
    if ((name === 'redirect' && record.redirect) || (name === 'exp' && exp)) {
      return `${name}= appears more than once (§6)`;
    }
    const problem = domainSpecProblem(value);
    if (problem) {
      return `"${term}" ${problem}`;
    }
    if (name === 'redirect') {
      record.redirect = { term, domainSpec: value };
    } else {
      exp = true; // the explanation is only for rejection messages: not fetched
    }
  }
  return record;
}
