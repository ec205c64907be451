import { ForbiddenActionError } from './errors.js';
import type { Actor } from './roles.js';

/**
 * The person (or, for a `filter` key, the host) behind an API key: an e-mail
 * address or a directory handle. Four eyes compares owners, not keys, so the
 * spelling must not make one person two: owners are stored trimmed and
 * lowercased (`Alice@Example.com` is `alice@example.com`).
 */

/** Why an owner was refused; never contains the submitted value. */
export class InvalidOwnerError extends Error {
  override readonly name = 'InvalidOwnerError';
}

/** The longest e-mail address SMTP can carry (RFC 5321 §4.5.3.1.3, less the angle brackets). */
export const OWNER_MAX_LENGTH = 254;

/** Roles held by a person: their keys must name an owner. */
export const PERSON_ROLES = ['admin', 'csr', 'auditor', 'customer'] as const;

// Letters, digits and . _ + - with at most one @ between two non-empty parts:
// `alice@example.com`, `jdoe`, `ops.team`, `mx1.example.net`. The database
// holds the same rule (api_keys_owner_normalized).
const OWNER = /^[a-z0-9][a-z0-9._+-]*(@[a-z0-9][a-z0-9.-]*)?$/;

export function normalizeOwner(input: string): string {
  const owner = input.trim().toLowerCase();
  if (owner.length === 0) {
    throw new InvalidOwnerError('must not be empty');
  }
  if (owner.length > OWNER_MAX_LENGTH) {
    throw new InvalidOwnerError(`must be at most ${OWNER_MAX_LENGTH} characters`);
  }
  if (!OWNER.test(owner) || owner.endsWith('.') || owner.endsWith('@')) {
    throw new InvalidOwnerError(
      'must be an e-mail address or a directory handle: letters, digits and . _ + - (and one @), starting with a letter or digit',
    );
  }
  return owner;
}

export function isPersonRole(role: string): boolean {
  return (PERSON_ROLES as readonly string[]).includes(role);
}

/**
 * The key and the person behind an actor that requests or decides something
 * four eyes governs: the system, or a key without an owner, may do neither.
 */
export function personOf(actor: Actor, what: string): { id: string; owner: string } {
  if (actor.id === null || actor.owner === null || actor.owner === undefined) {
    throw new ForbiddenActionError(`only a person's key (one that names its owner) may ${what}`);
  }
  return { id: actor.id, owner: actor.owner };
}
