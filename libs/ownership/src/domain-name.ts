import { InvalidFieldError, InvalidHostnameError, neverPublicReason, RuleViolationError } from '@app/domain';
import { isIcannPublicSuffix, normalizeDomainName } from './challenge.js';

/**
 * A domain name an organization may claim, normalized; else the error to
 * answer: 400 for a name that is no domain name, 422 for one that can never
 * be proven. A name that never resolves in the public DNS (`corp.local`,
 * `home.arpa`, a single label) can hold no TXT record any resolver outside the
 * customer's network sees, so its challenge could never pass; a public suffix
 * (`com`, `co.uk`) belongs to nobody in particular.
 */
export function claimableDomainName(input: string): string {
  let name: string;
  try {
    name = normalizeDomainName(input);
  } catch (error) {
    throw error instanceof InvalidHostnameError ? new InvalidFieldError('name', error.message) : error;
  }
  const neverPublic = neverPublicReason(name);
  if (neverPublic !== null) {
    throw new RuleViolationError(
      `name can never be verified: ${neverPublic}, so no public resolver can see a TXT record under it. ` +
        "Claim the customer's public domain (the one its mail is sent from); a server that announces an internal name needs an exception.",
    );
  }
  if (isIcannPublicSuffix(name)) {
    throw new RuleViolationError('name is a public suffix (like com or co.uk); claim a domain registered under it');
  }
  return name;
}
