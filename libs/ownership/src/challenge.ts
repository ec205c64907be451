import { randomBytes } from 'node:crypto';
import { parse } from 'tldts';
import { InvalidHostnameError, normalizeHeloHostname } from '@app/domain';
import { brokenResolverDetail, isAnswered, MAX_CHALLENGE_TXT_LENGTH, type DnsOutcome, type ResolverCheck } from '@app/dns';

/** `_<provider>-challenge.<domain>`: where the customer publishes the TXT record. */
export function challengeRecordName(provider: string, domain: string): string {
  return `_${provider}-challenge.${domain}`;
}

/** `<provider>-verification=<token>`: the TXT value that proves control of the domain. */
export function challengeValue(provider: string, token: string): string {
  return `${provider}-verification=${token}`;
}

/** 160 random bits, hex: survives any DNS control panel's handling of case. */
export function newChallengeToken(): string {
  return randomBytes(20).toString('hex');
}

/** A domain name as claimed: a host name of letters, digits and hyphens (see also isIcannPublicSuffix). */
export function normalizeDomainName(input: string): string {
  const name = normalizeHeloHostname(input);
  if (name.includes('_')) {
    throw new InvalidHostnameError('may contain only letters, digits and hyphens');
  }
  return name;
}

export function isIcannPublicSuffix(name: string): boolean {
  const parsed = parse(name, { allowPrivateDomains: false });
  return parsed.isIcann === true && parsed.publicSuffix === name;
}

/**
 * A name on the Public Suffix List, ICANN or private section (`com`, `co.uk`,
 * `github.io`): nobody in particular owns it, and with Postfix's default
 * `parent_domain_matches_subdomains` an access-map entry for it matches every
 * name under it. Unknown top-level labels (`corp.local`, `exch01`) are not
 * listed: the list's implicit `*` rule does not count here.
 */
export function isListedPublicSuffix(name: string): boolean {
  const parsed = parse(name, { allowPrivateDomains: true, validateHostname: false });
  return (parsed.isIcann === true || parsed.isPrivate === true) && parsed.publicSuffix === name;
}

export type ChallengeVerdict = 'match' | 'mismatch' | 'absent' | 'disagreement' | 'unreachable';

export interface ResolverFinding {
  resolver: string;
  status: DnsOutcome<string>['status'];
  /** TXT values seen at the record name (each record's strings concatenated). */
  values: string[];
  matched: boolean;
  error: string | null;
  /** Set when the resolver failed its canary check: why its "no such name" was not believed. */
  resolverBroken: string | null;
}

export interface ChallengeJudgement {
  verdict: ChallengeVerdict;
  findings: ResolverFinding[];
  /** What a CSR reads to the customer. */
  detail: string;
}

/**
 * Judges what the resolvers saw at the challenge name. Any record of the
 * RRset may carry the value; the comparison ignores case and surrounding
 * blanks. Resolvers that could not answer (timeout, SERVFAIL) do not count;
 * all that did answer must agree, so one stale or spoofed view cannot verify.
 * A record set over MAX_CHALLENGE_TXT_LENGTH is an answer that does not
 * match: the customer's own DNS said it, unlike a timeout, and it is bounded
 * so that what is stored and shown stays small. A resolver in `broken` (it
 * said "no such name" but could not find the canary either, see
 * ResolverHealth) does not count as having answered: that is our DNS's
 * trouble, never "not published".
 */
export function judgeChallenge(
  outcomes: DnsOutcome<string>[],
  expected: string,
  broken: ReadonlyMap<string, ResolverCheck> = new Map(),
): ChallengeJudgement {
  const wanted = expected.toLowerCase();
  const findings: ResolverFinding[] = outcomes.map((outcome) => {
    const values = outcome.status === 'ok' ? outcome.records : [];
    // Sized before anything is read: a name made for one short record that
    // holds kilobytes is answered, but neither compared nor kept.
    const size = values.reduce((total, value) => total + value.length, 0);
    if (size > MAX_CHALLENGE_TXT_LENGTH) {
      return {
        resolver: outcome.resolver,
        status: outcome.status,
        values: [],
        matched: false,
        error: `the TXT records at the name total ${size} characters, more than the ${MAX_CHALLENGE_TXT_LENGTH} HeloPass reads; publish only the challenge record there`,
        resolverBroken: null,
      };
    }
    return {
      resolver: outcome.resolver,
      status: outcome.status,
      values,
      matched: values.some((value) => value.trim().toLowerCase() === wanted),
      error: 'error' in outcome ? outcome.error : null,
      resolverBroken: broken.get(outcome.resolver)?.detail ?? null,
    };
  });
  const answered = outcomes
    .filter((outcome) => isAnswered(outcome) && !broken.has(outcome.resolver))
    .map((outcome) => findings.find((f) => f.resolver === outcome.resolver)!);
  const distrusted = [...broken.values()].filter((check) => outcomes.some((outcome) => outcome.resolver === check.resolver));
  if (answered.length === 0) {
    const failed = findings.filter((finding) => !broken.has(finding.resolver));
    const errors = failed.map((finding) => `${finding.resolver}: ${finding.status}${finding.error !== null ? ` (${finding.error})` : ''}`).join(', ');
    if (distrusted.length > 0) {
      const others = failed.length > 0 ? `; the others could not answer (${errors})` : '';
      return { verdict: 'unreachable', findings, detail: `${brokenResolverDetail(distrusted)}${others}; the record was not judged, will retry` };
    }
    return { verdict: 'unreachable', findings, detail: `no resolver could answer (${errors}); will retry` };
  }
  const judged = judgeAnswered(answered, findings);
  if (distrusted.length > 0) {
    return { ...judged, detail: `${judged.detail} (not counted: ${brokenResolverDetail(distrusted).replace(/^cannot tell: /, '')})` };
  }
  return judged;
}

/** The verdict from the resolvers that answered (and passed their canary check). */
function judgeAnswered(answered: ResolverFinding[], findings: ResolverFinding[]): ChallengeJudgement {
  const matched = answered.filter((finding) => finding.matched);
  if (matched.length === answered.length) {
    return {
      verdict: 'match',
      findings,
      detail: `the TXT record holds the expected value (${matched.length} resolver(s) agree: ${matched.map((finding) => finding.resolver).join(', ')})`,
    };
  }
  if (matched.length > 0) {
    const dissent = answered.filter((finding) => !finding.matched).map((finding) => finding.resolver);
    return {
      verdict: 'disagreement',
      findings,
      detail: `resolvers disagree: ${dissent.join(', ')} do not see the value yet (DNS may still be propagating)`,
    };
  }
  const oversized = answered.find((finding) => finding.status === 'ok' && finding.error !== null);
  if (oversized !== undefined) {
    return { verdict: 'mismatch', findings, detail: oversized.error! };
  }
  const seen = answered.flatMap((finding) => finding.values);
  if (seen.length > 0) {
    return {
      verdict: 'mismatch',
      findings,
      detail: `TXT records exist at the name but none holds the expected value (seen: ${seen.map((v) => JSON.stringify(v)).join(', ')})`,
    };
  }
  const nx = answered.filter((finding) => finding.status === 'nxdomain').map((finding) => finding.resolver);
  const empty = answered.filter((finding) => finding.status !== 'nxdomain').map((finding) => finding.resolver);
  return {
    verdict: 'absent',
    findings,
    detail:
      nx.length > 0
        ? `the record name does not exist (NXDOMAIN from ${nx.join(', ')}): the TXT record is not published`
        : `the name exists but has no TXT record (according to ${empty.join(', ')})`,
  };
}
