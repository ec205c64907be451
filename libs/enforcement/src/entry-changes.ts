import type { AllowlistEntry } from './render.js';

/**
 * What a consumer of the enforcement core (the policy server's matcher, for
 * one) is told when the set of loaded exceptions moves. Entries are the
 * candidates — in effect now or later — so a consumer that checks
 * `startsAt`/`expiresAt` at lookup time is exact at every instant without
 * waiting for a re-render.
 */
export interface EntryChange {
  version: bigint;
  added: readonly AllowlistEntry[];
  removed: readonly AllowlistEntry[];
}

export interface EntryListener {
  /** The whole set, replacing whatever the listener held (first load, or after a gap). */
  onFull(entries: readonly AllowlistEntry[], version: bigint): void;
  /** Only what changed since the last call; an entry whose fields changed comes as removed (old) and added (new). */
  onChange(change: EntryChange): void;
}

const sameEntry = (a: AllowlistEntry, b: AllowlistEntry) =>
  a.scope === b.scope &&
  a.heloHostname === b.heloHostname &&
  a.startsAt.getTime() === b.startsAt.getTime() &&
  a.expiresAt.getTime() === b.expiresAt.getTime() &&
  a.addresses.length === b.addresses.length &&
  a.addresses.every((address, index) => address === b.addresses[index]);

/** The difference between two candidate sets, by exception id. */
export function diffEntries(
  before: readonly AllowlistEntry[],
  after: readonly AllowlistEntry[],
): { added: AllowlistEntry[]; removed: AllowlistEntry[] } {
  const previous = new Map(before.map((entry) => [entry.exceptionId, entry]));
  const added: AllowlistEntry[] = [];
  const removed: AllowlistEntry[] = [];
  for (const entry of after) {
    const old = previous.get(entry.exceptionId);
    previous.delete(entry.exceptionId);
    if (!old) {
      added.push(entry);
    } else if (!sameEntry(old, entry)) {
      removed.push(old);
      added.push(entry);
    }
  }
  removed.push(...previous.values());
  return { added, removed };
}
