import type { AllowlistEntry, ExceptionScope } from './render.js';

/**
 * An allowlist entry as a JSON array, the compact form kept outside memory
 * (the snapshot file's lines, the history snapshots' rows): [exceptionId,
 * organizationId, scope, heloHostname, addresses, startsAt ms, expiresAt ms].
 */
export type EntryTuple = [string, string, ExceptionScope, string, string[], number, number];

export const entryToTuple = (entry: AllowlistEntry): EntryTuple => [
  entry.exceptionId,
  entry.organizationId,
  entry.scope,
  entry.heloHostname,
  entry.addresses,
  entry.startsAt.getTime(),
  entry.expiresAt.getTime(),
];

export const entryFromTuple = ([exceptionId, organizationId, scope, heloHostname, addresses, startsAt, expiresAt]: EntryTuple): AllowlistEntry => ({
  exceptionId,
  organizationId,
  scope,
  heloHostname,
  addresses,
  startsAt: new Date(startsAt),
  expiresAt: new Date(expiresAt),
});
