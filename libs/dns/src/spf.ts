/**
 * A pure SPF evaluator (RFC 7208 check_host()), used to decide whether a
 * verified domain's SPF policy authorizes an address or prefix. It only talks
 * to DNS through `DnsLookup`, and never throws: every failure is a result.
 *
 * Decisions beyond the RFC, all chosen so that a `pass` can be trusted as proof:
 * - The check is the HELO identity check of `domain` (§2.3): macros see
 *   %{s} = postmaster@<domain>, %{l} = postmaster, %{o} = %{h} = <domain>.
 *   %{p} expands to "unknown" without a PTR lookup (§7.3 discourages it);
 *   %{c}, %{r}, %{t} are explanation-only and a syntax error elsewhere.
 * - A prefix subject passes a term only when the term covers the whole prefix.
 *   A term that may cover only part of it (a smaller ip4/ip6 network, a macro
 *   depending on each address such as %{i}) does not pass it, but with a
 *   `-`, `~` or `?` qualifier it decides the result, since some addresses
 *   of the prefix would get that result.
 * - `ptr` (deprecated, §5.5) counts as a DNS lookup and is not evaluated: it
 *   never passes; with another qualifier than `+` it is taken to apply.
 */
import ipaddr from 'ipaddr.js';
import { isAnswered, type DnsLookup, type DnsOutcome } from './types.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface SpfEvaluation {
  result: SpfResult;
  /** the mechanism that decided, as written in the record, e.g. "ip4:192.0.2.0/24", "include:_spf.example.net", "a", "mx", "-all"; null when none matched or on error */
  mechanism: string | null;
  /** the domain whose record held the deciding mechanism (after include/redirect); null when `mechanism` is */
  domain: string | null;
  /** DNS-querying terms used (include, a, mx, ptr, exists, redirect), RFC 7208 §4.6.4; the one past the limit included */
  lookups: number;
  /** plain-language explanation a customer-service rep can read out, e.g. "void lookup limit exceeded" or "ip4:192.0.2.0/24 in example.com authorizes it" */
  reason: string;
}

export interface SpfOptions {
  maxLookups?: number /* default 10 */;
  maxVoidLookups?: number /* default 2 */;
  maxMxHosts?: number /* default 10 */;
}

type Ip = ipaddr.IPv4 | ipaddr.IPv6;
type Qualifier = '+' | '-' | '~' | '?';
/** How much of the subject a term covers: all of it, possibly only part of it, or none of it. */
type Coverage = 'all' | 'part' | 'none';

interface Subject {
  address: Ip;
  family: 'ipv4' | 'ipv6';
  length: number;
  /** a single address rather than a wider prefix */
  host: boolean;
}

interface Mechanism {
  term: string;
  qualifier: Qualifier;
  kind: 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';
  domainSpec: string | null;
  network: Ip | null;
  v4Length: number;
  v6Length: number;
}

interface SpfRecord {
  mechanisms: Mechanism[];
  redirect: { term: string; domainSpec: string } | null;
}

interface Context {
  readonly subject: Subject;
  readonly dns: DnsLookup;
  /** the domain check_host() started from */
  readonly domain: string;
  readonly limits: Required<SpfOptions>;
  lookups: number;
  voids: number;
  /** domains whose records are being evaluated, outermost first */
  readonly stack: string[];
  /** terms that authorize only part of the subject, worth telling when it does not pass */
  readonly notes: string[];
}

interface Outcome {
  result: SpfResult;
  mechanism: string | null;
  domain: string | null;
  reason: string;
  /** some addresses of the subject may pass although the result is not `pass` */
  partPass: boolean;
  /** the include/redirect terms that led to the deciding record, innermost first */
  via: string[];
}

interface Match {
  coverage: Coverage;
  /** the included record's outcome, when an include matched */
  inner?: Outcome;
  /** why the coverage is only `part`, completing "<term> ..." */
  why?: string;
}

const QUALIFIER_RESULT: Record<Qualifier, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };
const VERDICT: Partial<Record<SpfResult, string>> = {
  pass: 'authorizes it',
  fail: 'rejects it',
  softfail: 'marks it as suspicious (softfail)',
  neutral: 'takes no position on it (neutral)',
};
const PART_OF_PREFIX = 'covers only part of the prefix';
const TOPLABEL = /^([a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$/i;

function stop(result: SpfResult, reason: string): Outcome {
  return { result, mechanism: null, domain: null, reason, partPass: false, via: [] };
}

/** Parses an address strictly: dotted-quad IPv4 only, IPv6 without zone. */
function parseIp(text: string): Ip | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return ipaddr.IPv4.parse(text);
  }
  if (!text.includes(':') || text.includes('%')) {
    return null;
  }
  // ipaddr.js reads an IPv4-compatible `::192.0.2.1` as IPv4-mapped, so an
  // embedded IPv4 tail is rewritten as two hex groups (as libs/domain does).
  let v6Text = text;
  const embedded = /^(.*:)([^:]*\.[^:]*)$/.exec(text);
  if (embedded) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(embedded[2]!)) {
      return null;
    }
    const [a, b, c, d] = ipaddr.IPv4.parse(embedded[2]!).octets as [number, number, number, number];
    v6Text = `${embedded[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  return ipaddr.IPv6.isValid(v6Text) ? ipaddr.IPv6.parse(v6Text) : null;
}

/** A CIDR length without leading zeros (RFC 7208 §5.6 ABNF); the full length when absent. */
function prefixLength(text: string | undefined, bits: number): number | null {
  if (text === undefined) {
    return bits;
  }
  return /^(0|[1-9]\d{0,2})$/.test(text) && Number(text) <= bits ? Number(text) : null;
}

function parseSubject(text: string): Subject | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!ip) {
    return null;
  }
  let length = prefixLength(slash === -1 ? undefined : text.slice(slash + 1), ip.kind() === 'ipv4' ? 32 : 128);
  if (length === null) {
    return null;
  }
  let address: Ip = ip;
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) {
    // A client reaching the MTA over IPv4 may be reported as ::ffff:a.b.c.d.
    if (length < 96) {
      return null;
    }
    address = ip.toIPv4Address();
    length -= 96;
  }
  const family = address.kind();
  return { address, family, length, host: length === (family === 'ipv4' ? 32 : 128) };
}

function coverage(subject: Subject, network: Ip, length: number): Coverage {
  if (network.kind() !== subject.family) {
    return 'none';
  }
  if (length <= subject.length) {
    return subject.address.match(network, length) ? 'all' : 'none';
  }
  // Two prefixes either nest or are disjoint: this network lies inside the subject.
  return network.match(subject.address, subject.length) ? 'part' : 'none';
}

function bestCoverage(subject: Subject, addresses: string[], v4Length: number, v6Length: number): Coverage {
  let best: Coverage = 'none';
  for (const text of addresses) {
    const ip = parseIp(text);
    const covered = ip ? coverage(subject, ip, ip.kind() === 'ipv4' ? v4Length : v6Length) : 'none';
    if (covered === 'all') {
      return 'all';
    }
    if (covered === 'part') {
      best = 'part';
    }
  }
  return best;
}

/** Lowercase, without the trailing dot; null unless a multi-label name with 1-63 character labels (§4.3). */
function normalizeName(text: string): string | null {
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
function domainSpecProblem(spec: string): string | null {
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

function macroValue(ctx: Context, letter: string, domain: string): string {
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

function expand(ctx: Context, spec: string, domain: string): Expansion {
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

function parseMechanism(term: string): Mechanism | string {
  const parts = /^([+\-~?]?)([a-z][a-z0-9]*)(.*)$/i.exec(term);
  if (!parts) {
    return `"${term}" is not a mechanism or modifier`;
  }
  const qualifier = (parts[1] || '+') as Qualifier;
  const name = parts[2]!.toLowerCase();
  const rest = parts[3]!;
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
      const [, head, v4, v6] = /^(.*?)(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(rest)!;
      const v4Length = prefixLength(v4, 32);
      const v6Length = prefixLength(v6, 128);
      if ((head !== '' && !head!.startsWith(':')) || v4Length === null || v6Length === null) {
        return malformed;
      }
      const problem = head === '' ? null : domainSpecProblem(head!.slice(1));
      return problem
        ? `"${term}" ${problem}`
        : { ...base, kind: name, domainSpec: head === '' ? null : head!.slice(1), v4Length, v6Length };
    }
    case 'ip4':
    case 'ip6': {
      const [, address, length] = /^:([^/]+)(?:\/(.*))?$/.exec(rest) ?? [];
      const network = address === undefined ? null : parseIp(address);
      const bits = name === 'ip4' ? 32 : 128;
      const networkLength = prefixLength(length, bits);
      if (!network || network.kind() !== (name === 'ip4' ? 'ipv4' : 'ipv6') || networkLength === null) {
        return malformed;
      }
      return { ...base, kind: name, network, v4Length: networkLength, v6Length: networkLength };
    }
    default:
      return `unknown mechanism "${parts[2]}"`;
  }
}

/** Parses the whole record first: a syntax error anywhere is a permerror (§4.6). */
function parseRecord(text: string): SpfRecord | string {
  const record: SpfRecord = { mechanisms: [], redirect: null };
  let exp = false;
  for (const term of text.slice('v=spf1'.length).split(' ').filter((part) => part !== '')) {
    const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(term);
    if (!modifier) {
      const mechanism = parseMechanism(term);
      if (typeof mechanism === 'string') {
        return mechanism;
      }
      record.mechanisms.push(mechanism);
      continue;
    }
    const name = modifier[1]!.toLowerCase();
    if (name !== 'redirect' && name !== 'exp') {
      continue; // unknown modifiers are ignored (§6)
    }
    if ((name === 'redirect' && record.redirect) || (name === 'exp' && exp)) {
      return `${name}= appears more than once (§6)`;
    }
    const problem = domainSpecProblem(modifier[2]!);
    if (problem) {
      return `"${term}" ${problem}`;
    }
    if (name === 'redirect') {
      record.redirect = { term, domainSpec: modifier[2]! };
    } else {
      exp = true; // the explanation is only for rejection messages: not fetched
    }
  }
  return record;
}

async function ask<T>(query: () => Promise<DnsOutcome<T>>): Promise<DnsOutcome<T>> {
  try {
    return await query();
  } catch (error) {
    return { status: 'error', resolver: '', error: error instanceof Error ? error.message : String(error) };
  }
}

const FAILURE = { timeout: 'timed out', servfail: 'failed (SERVFAIL)', refused: 'was refused', error: 'failed' };

/**
 * The records of an answer, or the outcome that ends the check: DNS failures are
 * temperror (§4.4, §5); an empty answer is a void lookup when the term's own
 * query gave it (§4.6.4).
 */
function recordsOf<T>(ctx: Context, rr: string, name: string, outcome: DnsOutcome<T>, countsVoid: boolean): T[] | Outcome {
  if (!isAnswered(outcome)) {
    const at = outcome.resolver ? ` at ${outcome.resolver}` : '';
    const detail = outcome.error ? ` (${outcome.error})` : '';
    return stop('temperror', `the DNS lookup of ${rr} ${name} ${FAILURE[outcome.status]}${at}${detail}; try again later`);
  }
  if (outcome.status === 'ok' && outcome.records.length > 0) {
    return outcome.records;
  }
  if (countsVoid && ++ctx.voids > ctx.limits.maxVoidLookups) {
    return stop(
      'permerror',
      `void lookup limit exceeded: more than ${ctx.limits.maxVoidLookups} DNS lookups found nothing, the last ${rr} ${name} (RFC 7208 §4.6.4)`,
    );
  }
  return [];
}

function countLookup(ctx: Context, term: string, domain: string): Outcome | null {
  ctx.lookups += 1;
  return ctx.lookups > ctx.limits.maxLookups
    ? stop(
        'permerror',
        `DNS lookup limit exceeded: the policy needs more than ${ctx.limits.maxLookups} DNS lookups, the next being ${term} in ${domain} (RFC 7208 §4.6.4)`,
      )
    : null;
}

function loop(ctx: Context, target: string): Outcome | null {
  // A loop repeats the same terms until the lookup limit stops it: say so at once.
  const start = ctx.stack.indexOf(target);
  return start === -1 ? null : stop('permerror', `include/redirect loop: ${[...ctx.stack.slice(start), target].join(' → ')}`);
}

function lookupAddresses(ctx: Context, name: string): Promise<DnsOutcome<string>> {
  return ask(() => (ctx.subject.family === 'ipv4' ? ctx.dns.a(name) : ctx.dns.aaaa(name)));
}

async function matchMechanism(ctx: Context, domain: string, m: Mechanism): Promise<Match | Outcome> {
  if (m.kind === 'all') {
    return { coverage: 'all' };
  }
  if (m.kind === 'ip4' || m.kind === 'ip6') {
    return { coverage: coverage(ctx.subject, m.network!, m.v4Length), why: PART_OF_PREFIX };
  }
  const limit = countLookup(ctx, m.term, domain);
  if (limit) {
    return limit;
  }
  if (m.kind === 'ptr') {
    return { coverage: 'part', why: 'is not evaluated (ptr is deprecated, RFC 7208 §5.5)' };
  }
  const target = m.domainSpec === null ? { name: domain } : expand(ctx, m.domainSpec, domain);
  if ('error' in target) {
    return stop('permerror', `${m.term} in ${domain} ${target.error}`);
  }
  if ('dependsOnAddress' in target) {
    const why = `depends on each address (${target.dependsOnAddress}), and a prefix cannot be checked as a whole`;
    return { coverage: 'part', why };
  }
  const name = target.name;
  switch (m.kind) {
    case 'include': {
      const inner = loop(ctx, name) ?? (await checkHost(ctx, name));
      if (inner.result === 'pass') {
        return { coverage: 'all', inner };
      }
      if (inner.result === 'none') {
        // §5.2: including a domain without a policy is an error, not a non-match.
        return stop('permerror', `${m.term} in ${domain} names a domain without an SPF record: ${inner.reason}`);
      }
      if (inner.result === 'temperror' || inner.result === 'permerror') {
        return { ...inner, via: [...inner.via, `${m.term} in ${domain}`] };
      }
      return { coverage: inner.partPass ? 'part' : 'none', why: 'may authorize only part of it' };
    }
    case 'exists': {
      // Always an A query, whatever the subject's family (§5.7).
      const records = recordsOf(ctx, 'A', name, await ask(() => ctx.dns.a(name)), true);
      return Array.isArray(records) ? { coverage: records.length > 0 ? 'all' : 'none' } : records;
    }
    case 'a': {
      const rr = ctx.subject.family === 'ipv4' ? 'A' : 'AAAA';
      const records = recordsOf(ctx, rr, name, await lookupAddresses(ctx, name), true);
      return Array.isArray(records)
        ? { coverage: bestCoverage(ctx.subject, records, m.v4Length, m.v6Length), why: PART_OF_PREFIX }
        : records;
    }
    default: {
      const hosts = recordsOf(ctx, 'MX', name, await ask(() => ctx.dns.mx(name)), true);
      if (!Array.isArray(hosts)) {
        return hosts;
      }
      if (hosts.length > ctx.limits.maxMxHosts) {
        return stop(
          'permerror',
          `${m.term} in ${domain}: ${name} has ${hosts.length} MX hosts, more than the ${ctx.limits.maxMxHosts} an SPF check may look up (RFC 7208 §4.6.4)`,
        );
      }
      let best: Coverage = 'none';
      for (const host of [...hosts].sort((x, y) => x.priority - y.priority)) {
        const exchange = host.exchange.replace(/\.$/, '').toLowerCase();
        if (exchange === '') {
          continue; // a null MX (RFC 7505) names no host
        }
        const rr = ctx.subject.family === 'ipv4' ? 'A' : 'AAAA';
        const records = recordsOf(ctx, rr, exchange, await lookupAddresses(ctx, exchange), false);
        if (!Array.isArray(records)) {
          return records;
        }
        const covered = bestCoverage(ctx.subject, records, m.v4Length, m.v6Length);
        if (covered === 'all') {
          return { coverage: 'all' };
        }
        best = covered === 'part' ? 'part' : best;
      }
      return { coverage: best, why: PART_OF_PREFIX };
    }
  }
}

function decided(m: Mechanism, domain: string, match: Match): Outcome {
  const result = QUALIFIER_RESULT[m.qualifier];
  let reason =
    m.kind === 'all' && result === 'pass'
      ? `${m.term} in ${domain} authorizes every address, which proves nothing about this one`
      : `${m.term} in ${domain} ${VERDICT[result]}`;
  if (match.coverage === 'part') {
    reason += `; it ${match.why}, so it is taken to apply`;
  }
  return { result, mechanism: m.term, domain, reason, partPass: false, via: [] };
}

async function evaluateRecord(ctx: Context, domain: string, record: SpfRecord): Promise<Outcome> {
  let partPass = false;
  for (const m of record.mechanisms) {
    const match = await matchMechanism(ctx, domain, m);
    if ('result' in match) {
      return match;
    }
    if (m.qualifier !== '+') {
      if (match.coverage !== 'none') {
        return { ...decided(m, domain, match), partPass };
      }
    } else if (match.coverage === 'all') {
      return match.inner ? { ...match.inner, via: [...match.inner.via, `${m.term} in ${domain}`] } : decided(m, domain, match);
    } else if (match.coverage === 'part') {
      partPass = true;
      ctx.notes.push(`${m.term} in ${domain} ${match.why}`);
    }
  }
  // §6.1: redirect applies only when nothing matched, and never beside "all".
  if (record.redirect && !record.mechanisms.some((m) => m.kind === 'all')) {
    const { term, domainSpec } = record.redirect;
    const limit = countLookup(ctx, term, domain);
    if (limit) {
      return limit;
    }
    const target = expand(ctx, domainSpec, domain);
    if ('error' in target) {
      return stop('permerror', `${term} in ${domain} ${target.error}`);
    }
    if ('dependsOnAddress' in target) {
      const reason = `${term} in ${domain} depends on each address (${target.dependsOnAddress}), so a prefix cannot be checked as a whole; check single addresses`;
      return { ...stop('neutral', reason), partPass: true };
    }
    const inner = loop(ctx, target.name) ?? (await checkHost(ctx, target.name));
    if (inner.result === 'none') {
      return stop('permerror', `${term} in ${domain} names a domain without an SPF record: ${inner.reason}`);
    }
    return { ...inner, partPass: inner.partPass || partPass, via: [...inner.via, `${term} in ${domain}`] };
  }
  return { ...stop('neutral', `no mechanism in ${domain} matched it, so the result is neutral (RFC 7208 §4.7)`), partPass };
}

async function checkHost(ctx: Context, domain: string): Promise<Outcome> {
  const records = recordsOf(ctx, 'TXT', domain, await ask(() => ctx.dns.txt(domain)), false);
  if (!Array.isArray(records)) {
    return records;
  }
  // §4.5: "v=spf1" followed by a space or the end, in any case.
  const spf = records.filter((text) => /^v=spf1( |$)/i.test(text));
  if (spf.length === 0) {
    return stop('none', `${domain} has no SPF record`);
  }
  if (spf.length > 1) {
    return stop('permerror', `${domain} publishes ${spf.length} SPF records; it must publish exactly one (RFC 7208 §4.5)`);
  }
  const record = parseRecord(spf[0]!);
  if (typeof record === 'string') {
    return stop('permerror', `the SPF record of ${domain} is invalid: ${record}`);
  }
  ctx.stack.push(domain);
  try {
    return await evaluateRecord(ctx, domain, record);
  } finally {
    ctx.stack.pop();
  }
}

/**
 * Evaluates check_host() for `subject` — a single address ("192.0.2.10") or a
 * CIDR prefix ("192.0.2.0/28"). A prefix matches a mechanism only when the
 * mechanism's network contains the WHOLE prefix.
 */
export async function evaluateSpf(
  subject: string,
  domain: string,
  dns: DnsLookup,
  options: SpfOptions = {},
): Promise<SpfEvaluation> {
  const ending = (result: SpfResult, reason: string): SpfEvaluation => ({
    result,
    mechanism: null,
    domain: null,
    lookups: 0,
    reason,
  });
  const parsed = typeof subject === 'string' ? parseSubject(subject) : null;
  if (!parsed) {
    return ending('permerror', 'the address to check is not an IP address or CIDR prefix');
  }
  const name = typeof domain === 'string' ? normalizeName(domain) : null;
  if (!name) {
    // §4.3: a malformed domain has no policy.
    return ending('none', 'the domain is not a valid domain name, so it has no SPF record');
  }
  const ctx: Context = {
    subject: parsed,
    dns,
    domain: name,
    limits: {
      maxLookups: options.maxLookups ?? 10,
      maxVoidLookups: options.maxVoidLookups ?? 2,
      maxMxHosts: options.maxMxHosts ?? 10,
    },
    lookups: 0,
    voids: 0,
    stack: [],
    notes: [],
  };
  let outcome: Outcome;
  try {
    outcome = await checkHost(ctx, name);
  } catch {
    return { ...ending('temperror', 'the SPF check failed unexpectedly; try again later'), lookups: ctx.lookups };
  }
  let reason = outcome.reason;
  if (outcome.via.length > 0) {
    reason += `, reached through ${[...outcome.via].reverse().join(' → ')}`;
  }
  if (outcome.result !== 'pass' && ctx.notes.length > 0) {
    reason += `; note: ${ctx.notes.slice(0, 3).join('; ')}`;
  }
  return { result: outcome.result, mechanism: outcome.mechanism, domain: outcome.domain, lookups: ctx.lookups, reason };
}

/** true only when the evaluation proves the subject belongs to the domain's senders: result 'pass' decided by a mechanism other than `all` (a `+all` or `?all` proves nothing). */
export function spfProves(evaluation: SpfEvaluation): boolean {
  return evaluation.result === 'pass' && evaluation.mechanism !== null && !/^[+\-~?]?all$/i.test(evaluation.mechanism);
}
