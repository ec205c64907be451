/**
 * SPF macros (RFC 7208 §7): the syntax of a domain-spec, and its expansion
 * into the domain name a term queries.
 */
import ipaddr from 'ipaddr.js';
import type { Subject } from './spf-address.js';

/** Lowercase, without the trailing dot; null unless a multi-label name with 1-63 character labels (§4.3). */
export function normalizeName(text: string): string | null {
  const name = text.replace(/\.$/, '').toLowerCase();
  const labels = name.split('.');
  const valid =
    name.length <= 253 && labels.length >= 2 && labels.every((label) => /^[\x21-\x7e]{1,63}$/.test(label));
  return valid ? name : null;
}

interface Macro {
  letter: string;
  digits: number | null;
  reverse: boolean;
  delimiters: string;
}
type Token = string | Macro;

const ESCAPES: Record<string, string> = { '%': '%', _: ' ', '-': '%20' };
const TOPLABEL = /^([a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$/i;

/** Splits a domain-spec into literal text and macros (RFC 7208 §7.1). */
function tokenize(spec: string): Token[] | string {
  const tokens: Token[] = [];
  for (const [whole, letter, digits, reverse, delimiters, escape, literal] of spec.matchAll(
    /%\{([a-z])(\d*)(r?)([.\-+,/_=]*)\}|%([%_-])|%|([^%]+)/gi,
  )) {
    if (literal !== undefined) {
      if (!/^[\x21-\x7e]+$/.test(literal)) {
        return 'contains a character not allowed in a domain';
      }
      tokens.push(literal);
    } else if (escape !== undefined) {
      tokens.push(ESCAPES[escape] ?? '');
    } else if (letter === undefined) {
      return 'contains a "%" that starts no valid macro';
    } else if (!/[slodiphv]/i.test(letter)) {
      return /[crt]/i.test(letter)
        ? `uses %{${letter}}, which is only allowed in explanations`
        : `uses an unknown macro %{${letter}}`;
    } else if (digits === '0') {
      return `uses ${whole}, which keeps no part`;
    } else {
      tokens.push({ letter, digits: digits ? Number(digits) : null, reverse: reverse !== '', delimiters: delimiters! });
    }
  }
  return tokens;
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
  const last = tokens[tokens.length - 1];
  if (typeof last !== 'string') {
    return null;
  }
  const labels = last.replace(/\.$/, '').split('.');
  return labels.length >= 2 && TOPLABEL.test(labels[labels.length - 1]!)
    ? null
    : 'does not end in a valid top-level domain';
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

type Expansion = { name: string } | { dependsOnAddress: string } | { error: string };

export function expand(ctx: MacroContext, spec: string, domain: string): Expansion {
  const tokens = tokenize(spec) as Token[]; // validated when the record was parsed
  let text = '';
  for (const token of tokens) {
    if (typeof token === 'string') {
      text += token;
      continue;
    }
    const letter = token.letter.toLowerCase();
    if ((letter === 'i' || letter === 'p') && !ctx.subject.host) {
      return { dependsOnAddress: `%{${token.letter}}` };
    }
    const parts = [''];
    for (const char of macroValue(ctx, letter, domain)) {
      if ((token.delimiters || '.').includes(char)) {
        parts.push('');
      } else {
        parts[parts.length - 1] += char;
      }
    }
    if (token.reverse) {
      parts.reverse();
    }
    const value = (token.digits === null ? parts : parts.slice(-token.digits)).join('.');
    // An uppercase macro letter asks for URL escaping (§7.3).
    text +=
      letter === token.letter
        ? value
        : encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  }
  // §4.8: an expansion longer than a domain name loses labels from the left.
  while (text.length > 253 && text.includes('.')) {
    text = text.slice(text.indexOf('.') + 1);
  }
  const name = normalizeName(text);
  return name === null ? { error: 'expands to an invalid domain name' } : { name };
}
