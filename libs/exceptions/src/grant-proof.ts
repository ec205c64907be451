import { addressesOnSpfAlone, isListedPublicSuffix, type Evidence } from '@app/ownership';
import type { ExceptionScope } from './exception-rules.js';

/**
 * What a grant of `scope` lacks in proof of ownership, one line per item
 * (DESIGN.md, Ownership §5): `pair` and `ip` need every address proven, `helo`
 * the HELO name.
 */
export function missingProof(scope: ExceptionScope, evidence: Pick<Evidence, 'helo' | 'heloProven' | 'addressEvidence'>): string[] {
  if (scope === 'helo') {
    return evidence.heloProven ? [] : [`heloHostname ${evidence.helo.heloHostname}: ${evidence.helo.reason}`];
  }
  return evidence.addressEvidence.filter((item) => !item.proven).map((item) => `address ${item.address}: ${item.reason}`);
}

/** The grant's addresses rest (at least in part) on SPF alone: a customer's claim, which a second person must accept. */
export function restsOnSpfAlone(scope: ExceptionScope, evidence: Pick<Evidence, 'addressEvidence'>): boolean {
  return scope !== 'helo' && addressesOnSpfAlone(evidence).length > 0;
}

/**
 * Why a `helo` exception may not name this HELO name, if it may not: a
 * public suffix (`com`, `co.uk`) in a Postfix access map would, with the
 * default `parent_domain_matches_subdomains`, let every name under it pass.
 */
export function heloScopeRefusal(scope: ExceptionScope, heloHostname: string): string | null {
  if (scope !== 'helo' || !isListedPublicSuffix(heloHostname)) {
    return null;
  }
  return (
    `heloHostname ${heloHostname} is a public suffix: a helo exception for it would let every name under it pass ` +
    "(Postfix's parent_domain_matches_subdomains); grant a pair or ip exception instead"
  );
}

/** How the server differs from what the exception was granted for (empty when it still announces and holds exactly that). */
export function serverChanges(
  granted: { heloHostname: string; addresses: string[] },
  server: { heloHostname: string; addresses: string[] } | null,
): string[] {
  if (server === null) {
    return ['the mail server was deleted'];
  }
  const changes: string[] = [];
  if (server.heloHostname !== granted.heloHostname) {
    changes.push(`it now announces ${server.heloHostname}, not ${granted.heloHostname}`);
  }
  const now = new Set(server.addresses);
  const then = new Set(granted.addresses);
  const gone = granted.addresses.filter((address) => !now.has(address));
  const added = server.addresses.filter((address) => !then.has(address));
  if (gone.length > 0) {
    changes.push(`it no longer holds ${gone.join(', ')}`);
  }
  if (added.length > 0) {
    changes.push(`it now also holds ${added.join(', ')}`);
  }
  return changes;
}
