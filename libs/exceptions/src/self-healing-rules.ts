import { postfixHeloVerdict, readHeloArgument, type HeloLookupResult } from '@app/domain';

/** One of the name's lookups as the check saw it (DNS statuses as libs/dns reports them). */
export interface HeloLookupSeen {
  status: string;
  records: string[];
  resolver: string | null;
  error: string | null;
}

/** What a self-healing check saw: the HELO name's A, AAAA and MX answers, at an instant. */
export interface HeloSighting {
  heloHostname: string;
  checkedAt: Date;
  a: HeloLookupSeen;
  aaaa: HeloLookupSeen;
  mx: HeloLookupSeen;
  /** Set when a resolver's "no such name" cannot be trusted (it does not find the canary either). */
  brokenResolver: string | null;
}

/**
 * - `passes`: Postfix's `reject_invalid_helo_hostname` and
 *   `reject_unknown_helo_hostname` would both let the name through now;
 * - `fails`: DNS answered, and Postfix would still reject it;
 * - `unknown`: DNS could not tell (timeout, SERVFAIL, a broken resolver):
 *   never read as fixed, and never as broken again either.
 */
export type HeloHealth = 'passes' | 'fails' | 'unknown';

/** What Postfix's lookup would make of one answer: records found, a definite "none", or no answer. */
export function lookupResult(seen: HeloLookupSeen): HeloLookupResult {
  if (seen.status === 'ok' && seen.records.length > 0) {
    return 'found';
  }
  return seen.status === 'nxdomain' || seen.status === 'nodata' ? 'not_found' : 'unknown';
}

/**
 * The verdict Postfix itself would reach (libs/domain/src/postfix-helo.ts),
 * from the lookups of the name as the server announces it. A "not found"
 * from a resolver that cannot find the canary either counts as unknown.
 */
export function heloHealth(sighting: HeloSighting): HeloHealth {
  const argument = readHeloArgument(sighting.heloHostname);
  const lookups = [sighting.a, sighting.aaaa, sighting.mx].map(lookupResult);
  const verdict = postfixHeloVerdict(argument, argument.lookup === null ? [] : lookups);
  if (verdict.rejected === false) {
    return 'passes';
  }
  if (verdict.rejected === null || (verdict.restriction === 'reject_unknown_helo_hostname' && sighting.brokenResolver !== null)) {
    return 'unknown';
  }
  return 'fails';
}

/** What the check changes on the exception, given its current marks. */
export type HealingStep =
  | { kind: 'mark' }
  | { kind: 'clear' }
  | { kind: 'revoke' }
  | { kind: 'none'; why: 'still_needed' | 'dns_unknown' | 'in_grace' | 'kept' };

/**
 * The self-healing rule: a name that passes marks the exception (once); after
 * `graceMs` of passing — seen passing again now — it is revoked, unless a
 * person chose to keep it. A name that fails again clears the mark. DNS
 * trouble changes nothing.
 */
export function healingStep(
  health: HeloHealth,
  marks: { noLongerNeededSince: Date | null; kept: boolean },
  now: Date,
  graceMs: number,
): HealingStep {
  if (health === 'unknown') {
    return { kind: 'none', why: 'dns_unknown' };
  }
  if (health === 'fails') {
    return marks.noLongerNeededSince === null ? { kind: 'none', why: 'still_needed' } : { kind: 'clear' };
  }
  if (marks.noLongerNeededSince === null) {
    return { kind: 'mark' };
  }
  if (marks.kept) {
    return { kind: 'none', why: 'kept' };
  }
  return now.getTime() - marks.noLongerNeededSince.getTime() >= graceMs ? { kind: 'revoke' } : { kind: 'none', why: 'in_grace' };
}

/** `A 192.0.2.1; MX 10 mx.example.com`: what was seen, in the words of a revocation reason. */
export function describeSighting(sighting: Pick<HeloSighting, 'a' | 'aaaa' | 'mx'>): string {
  const parts = [
    ['A', sighting.a],
    ['AAAA', sighting.aaaa],
    ['MX', sighting.mx],
  ] as const;
  const found = parts.filter(([, seen]) => lookupResult(seen) === 'found').map(([type, seen]) => `${type} ${seen.records.slice(0, 4).join(', ')}`);
  return found.length > 0 ? found.join('; ') : 'no record';
}
