import { InvalidHostnameError, normalizeHeloHostname } from '@app/domain';
import { isAcceptResult, logicalLines, refusedResultReason, splitEntry, type MapEntry } from './postfix-map.js';

/**
 * Reads an access(5) map used with `check_helo_access`: `name result` lines
 * (looked up by exact key, so their order does not matter). Lines whose
 * result accepts the client become entries keyed by the normalized HELO
 * name; patterns that are not one HELO name are refused.
 */
export function parseAccessMap(text: string): MapEntry[] {
  const entries: MapEntry[] = [];
  const seen = new Map<string, { line: number; text: string; accept: boolean }>();
  for (const logical of logicalLines(text)) {
    const refuse = (reason: string) => entries.push({ ...logical, kind: 'refused', reason });
    if (logical.orphan) {
      refuse('a continuation line with no line before it to continue (postmap skips it)');
      continue;
    }
    const { pattern, result } = splitEntry(logical.text);
    if (pattern.includes('@')) {
      refuse(`${pattern} is an e-mail address pattern; check_helo_access looks up host names`);
      continue;
    }
    if (pattern.startsWith('.')) {
      // access(5): ".domain" matches every name under domain (without parent_domain_matches_subdomains).
      refuse(`${pattern} is a subdomain pattern (every name under ${pattern.slice(1)}); a helo exception names one HELO name — list the names`);
      continue;
    }
    let name: string;
    try {
      name = normalizeHeloHostname(pattern);
    } catch (error) {
      if (error instanceof InvalidHostnameError) {
        refuse(`${pattern} ${error.message}`);
        continue;
      }
      throw error;
    }
    const accept = isAcceptResult(result);
    const earlier = seen.get(name);
    if (earlier) {
      // postmap(1) warns of a duplicate entry and keeps the first.
      const reason = `a duplicate of line ${earlier.line} (${earlier.text}), which postmap keeps`;
      entries.push({ ...logical, kind: earlier.accept && accept ? 'skipped' : 'refused', reason });
      continue;
    }
    seen.set(name, { line: logical.line, text: logical.text, accept });
    if (!accept) {
      refuse(refusedResultReason(result));
      continue;
    }
    const notes: string[] = [];
    if (pattern.endsWith('.')) {
      notes.push(
        `the trailing dot is dropped (HELO names are stored without it): the policy server still matches a HELO sent with the dot, the postfix-helo map matches ${name} without it`,
      );
    }
    entries.push({ ...logical, kind: 'accept', key: name, result, notes });
  }
  return entries;
}
