/**
 * SPF macros (RFC 7208 §7): the syntax of a domain-spec, and its expansion
 * into the domain name a term queries.
 *
 * Everything here reads customer DNS data, so it is written as single passes
 * over the text, without regular expressions: its cost grows with the length
 * of the text and nothing else (a backtracking pattern on a long label, as the
 * toplabel rule invites, costs the square of it).
 */
import ipaddr from 'ipaddr.js';
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH, nameLengthProblem } from './limits.js';
import type { Subject } from './spf-address.js';

const isPrintable = (code: number) => code >= 0x21 && code <= 0x7e;
const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
const isLetter = (code: number) => (code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a;

/** Lowercase, without the trailing dot; null unless a multi-label name with 1-63 character labels (§4.3). */
export function normalizeName(text: string): string | null {
  if (text.length > MAX_NAME_LENGTH + 1) {
    return null;
  }
  const name = (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase();
  if (nameLengthProblem(name) !== null || !name.includes('.')) {
    return null;
  }
  for (let i = 0; i < name.length; i++) {
    if (!isPrintable(name.charCodeAt(i))) {
      return null;
    }
  }
  return name;
}

interface Macro {
  letter: string;
  digits: number | null;
  reverse: boolean;
  delimiters: string;
}
type Token = string | Macro;

const ESCAPES: Record<string, string> = { '%': '%', _: ' ', '-': '%20' };
const DELIMITERS = '.-+,/_=';
const MACRO_LETTERS = 'slodiphv';
const EXPLANATION_LETTERS = 'crt';

/**
 * toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
 * (RFC 7208 §7.1): letters, digits and inner hyphens; all digits only with a hyphen.
 */
export function isTopLabel(label: string): boolean {
  if (label.length === 0) {
    return false;
  }
  let letter = false;
  let hyphen = false;
  for (let i = 0; i < label.length; i++) {
    const code = label.charCodeAt(i);
    if (isLetter(code)) {
      letter = true;
    } else if (code === 0x2d /* - */) {
      hyphen = true;
    } else if (!isDigit(code)) {
      return false;
    }
  }
  return hyphen ? label[0] !== '-' && label[label.length - 1] !== '-' : letter;
}

/**
 * The macro at `spec[start]` (just after "%{"): letter, digits, "r", delimiters, "}".
 * Returns the macro and where it ends, or the problem.
 */
function readMacro(spec: string, start: number): { macro: Macro; end: number } | string {
  let i = start;
  const letter = spec[i] ?? '';
  if (!isLetter(letter.charCodeAt(0))) {
    return 'contains a "%" that starts no valid macro';
  }
  i += 1;
  const digitsStart = i;
  while (i < spec.length && isDigit(spec.charCodeAt(i))) {
    i += 1;
  }
  const digits = spec.slice(digitsStart, i);
  const reverse = spec[i] === 'r' || spec[i] === 'R';
  if (reverse) {
    i += 1;
  }
  const delimitersStart = i;
  while (i < spec.length && DELIMITERS.includes(spec[i]!)) {
    i += 1;
  }
  if (spec[i] !== '}') {
    return 'contains a "%" that starts no valid macro';
  }
  const lower = letter.toLowerCase();
  if (!MACRO_LETTERS.includes(lower)) {
    return EXPLANATION_LETTERS.includes(lower)
      ? `uses %{${letter}}, which is only allowed in explanations`
      : `uses an unknown macro %{${letter}}`;
  }
  if (digits !== '' && Number(digits) === 0) {
    return `uses %{${spec.slice(start, i + 1)}, which keeps no part`;
  }
  return {
    macro: { letter, digits: digits === '' ? null : Number(digits), reverse, delimiters: spec.slice(delimitersStart, i) },
    end: i + 1,
  };
}

/** Splits a domain-spec into literal text and macros (RFC 7208 §7.1), in one pass. */
function tokenize(spec: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < spec.length) {
    if (spec[i] !== '%') {
      const start = i;
      while (i < spec.length && spec[i] !== '%') {
        if (!isPrintable(spec.charCodeAt(i))) {
          return 'contains a character not allowed in a domain';
        }
        i += 1;
      }
      tokens.push(spec.slice(start, i));
      continue;
    }
    const next = spec[i + 1];
    if (next !== undefined && Object.hasOwn(ESCAPES, next)) {
      tokens.push(ESCAPES[next]!);
      i += 2;
      continue;
    }
    if (next !== '{') {
      return 'contains a "%" that starts no valid macro';
    }
    const read = readMacro(spec, i + 2);
    if (typeof read === 'string') {
      return read;
    }
    tokens.push(read.macro);
    i = read.end;
  }
  return tokens;
}

/** The longest label inside literal text (a label a macro extends is longer still). */
function longestLiteralLabel(tokens: Token[]): number {
  let longest = 0;
  for (const token of tokens) {
    if (typeof token !== 'string') {
      continue;
    }
    let run = 0;
    for (let i = 0; i < token.length; i++) {
      run = token[i] === '.' ? 0 : run + 1;
      longest = Math.max(longest, run);
    }
  }
  return longest;
}

/** Null when `spec` is a valid domain-spec: macro-string, then "." toplabel or a macro (§7.1). */
export function domainSpecProblem(spec: string): string | null {
  if (spec === '') {
    return 'is missing its domain';
  }
  const tokens = tokenize(spec);
  if (typeof tokens === 'string') {
    return tokens;
  }
  // Refused before any query: no DNS name can hold such a label (RFC 1035 §2.3.4).
  const label = longestLiteralLabel(tokens);
  if (label > MAX_LABEL_LENGTH) {
    return `names a label of ${label} characters, more than the ${MAX_LABEL_LENGTH} a label may have (RFC 1035 §2.3.4)`;
  }
  const last = tokens[tokens.length - 1];
  if (typeof last !== 'string') {
    return null;
  }
  const end = last.endsWith('.') ? last.slice(0, -1) : last;
  const dot = end.lastIndexOf('.');
  return dot !== -1 && isTopLabel(end.slice(dot + 1)) ? null : 'does not end in a valid top-level domain';
}

/** What macros read of the check: the subject and the domain check_host() started from. */
export interface MacroContext {
  readonly subject: Subject;
  readonly domain: string;
}

function macroValue(ctx: MacroContext, letter: string, domain: string): string {
  switch (letter) {
    case 's':
      return `postmaster@${ctx.domain}`;
    case 'l':
      return 'postmaster';
    case 'o':
    case 'h':
      return ctx.domain;
    case 'd':
      return domain;
    case 'p':
      return 'unknown';
    case 'v':
      return ctx.subject.family === 'ipv4' ? 'in-addr' : 'ip6';
    default: {
      const { address } = ctx.subject;
      return address instanceof ipaddr.IPv4
        ? address.toString()
        : address
            .toByteArray()
            .flatMap((byte) => [byte >> 4, byte & 15])
            .map((nibble) => nibble.toString(16))
            .join('.');
    }
  }
}

/** The parts of a macro value, split at any of its delimiters (default "."), §7.3. */
function splitValue(value: string, delimiters: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || delimiters.includes(value[i]!)) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  return parts;
}

/** An uppercase macro letter asks for URL escaping (§7.3): everything but unreserved characters. */
function urlEscape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * §4.8: an expansion longer than a domain name loses labels from the left
 * until it fits: the cut lies after the first dot that leaves at most 253
 * characters (found in one search, not one label at a time).
 */
function truncateLeft(text: string): string {
  if (text.length <= MAX_NAME_LENGTH) {
    return text;
  }
  const dot = text.indexOf('.', text.length - MAX_NAME_LENGTH - 1);
  if (dot !== -1) {
    return text.slice(dot + 1);
  }
  // The last label alone is too long: every dot goes, as the RFC's loop would.
  const last = text.lastIndexOf('.');
  return last === -1 ? text : text.slice(last + 1);
}

type Expansion = { name: string } | { dependsOnAddress: string } | { error: string };

export function expand(ctx: MacroContext, spec: string, domain: string): Expansion {
  const tokens = tokenize(spec);
  if (typeof tokens === 'string') {
    return { error: tokens }; // validated when the record was parsed; kept safe for other callers
  }
  const pieces: string[] = [];
  for (const token of tokens) {
    if (typeof token === 'string') {
      pieces.push(token);
      continue;
    }
    const letter = token.letter.toLowerCase();
    if ((letter === 'i' || letter === 'p') && !ctx.subject.host) {
      return { dependsOnAddress: `%{${token.letter}}` };
    }
    const parts = splitValue(macroValue(ctx, letter, domain), token.delimiters || '.');
    if (token.reverse) {
      parts.reverse();
    }
    const value = (token.digits === null ? parts : parts.slice(-token.digits)).join('.');
    pieces.push(letter === token.letter ? value : urlEscape(value));
  }
  const text = truncateLeft(pieces.join(''));
  const name = normalizeName(text);
  if (name !== null) {
    return { name };
  }
  const problem = nameLengthProblem(text.endsWith('.') ? text.slice(0, -1) : text);
  return { error: problem === null ? 'expands to an invalid domain name' : `expands to an invalid domain name: ${problem}` };
}
