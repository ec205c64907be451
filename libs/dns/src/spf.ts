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
 * - Work is bounded whatever the customer publishes (DESIGN.md, Ownership §7):
 *   a record longer than MAX_SPF_RECORD_LENGTH or with more than
 *   MAX_SPF_TERMS terms is a permerror before it is parsed, a domain-spec
 *   naming a label over 63 characters is a permerror before any query, and
 *   parsing and macro expansion run in time linear in the record. The time a
 *   check may take is the caller's DnsCheck deadline.
 */
import { bestCoverage, coverage, parseSubject, type Coverage, type Subject } from './spf-address.js';
import { expand, normalizeName } from './spf-macros.js';
import { parseRecord, recordSizeProblem, selectSpfRecords, type Mechanism, type Qualifier, type SpfRecord } from './spf-record.js';
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

function stop(result: SpfResult, reason: string): Outcome {
  return { result, mechanism: null, domain: null, reason, partPass: false, via: [] };
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
  const spf = selectSpfRecords(records);
  if (spf.length === 0) {
    return stop('none', `${domain} has no SPF record`);
  }
  if (spf.length > 1) {
    return stop('permerror', `${domain} publishes ${spf.length} SPF records; it must publish exactly one (RFC 7208 §4.5)`);
  }
  // The length is checked before the record is parsed: customer text of any size costs nothing more.
  const tooBig = recordSizeProblem(spf[0]!);
  if (tooBig !== null) {
    return stop('permerror', `the SPF record of ${domain} is too long: ${tooBig}`);
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
