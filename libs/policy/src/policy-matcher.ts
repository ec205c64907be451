import type { AllowlistEntry, EntryChange, EntryListener } from '@app/enforcement';
import { addressKey, heloKey, maskIpv4, maskIpv6, prefixKey } from './policy-keys.js';

const NONE: readonly AllowlistEntry[] = Object.freeze([]);

/**
 * Adds the entries of `list` in effect at `nowMs` to `found` (made on the
 * first one): a plain function, so a decision allocates nothing when no
 * exception matches, which is most of them.
 */
function collectInEffect(list: readonly AllowlistEntry[] | undefined, nowMs: number, found: AllowlistEntry[] | undefined): AllowlistEntry[] | undefined {
  if (list === undefined) {
    return found;
  }
  for (const entry of list) {
    if (entry.startsAt.getTime() <= nowMs && nowMs < entry.expiresAt.getTime()) {
      (found ??= []).push(entry);
    }
  }
  return found;
}

const removeFrom = (list: AllowlistEntry[], exceptionId: string): boolean => {
  const index = list.findIndex((entry) => entry.exceptionId === exceptionId);
  if (index === -1) {
    return false;
  }
  list.splice(index, 1);
  return true;
};

/**
 * One address family: per prefix length, a map from a key to the exceptions
 * held under it, and the lengths in use (longest first). Keys are the
 * network (`ip` exceptions) or the network and a HELO name (`pair`
 * exceptions): flat maps, no object per network, so that a million
 * exceptions cost a million map entries and little else.
 */
class PrefixIndex {
  private readonly byLength: (Map<string, AllowlistEntry[]> | undefined)[];
  /** Lengths that hold at least one key, longest first: a lookup visits only these. */
  lengths: number[] = [];

  constructor(bits: number) {
    this.byLength = new Array<Map<string, AllowlistEntry[]> | undefined>(bits + 1);
  }

  add(length: number, key: string, entry: AllowlistEntry): void {
    let keys = this.byLength[length];
    if (keys === undefined) {
      keys = new Map();
      this.byLength[length] = keys;
      this.lengths = [...this.lengths, length].sort((a, b) => b - a);
    }
    const list = keys.get(key);
    if (list === undefined) {
      keys.set(key, [entry]);
    } else {
      list.push(entry);
    }
  }

  /** Removes the exception from the key; drops the key once empty, and the length once no key has it. */
  remove(length: number, key: string, exceptionId: string): void {
    const keys = this.byLength[length];
    const list = keys?.get(key);
    if (keys === undefined || list === undefined || !removeFrom(list, exceptionId) || list.length > 0) {
      return;
    }
    keys.delete(key);
    if (keys.size === 0) {
      this.byLength[length] = undefined;
      this.lengths = this.lengths.filter((item) => item !== length);
    }
  }

  lookup(length: number, key: string): AllowlistEntry[] | undefined {
    return this.byLength[length]?.get(key);
  }

  clear(): void {
    this.byLength.fill(undefined);
    this.lengths = [];
  }
}

/**
 * The policy server's decision: which exceptions let a (HELO name, client
 * address) pair through, by scope — `pair`: the name from an address of the
 * exception; `ip`: any name from such an address; `helo`: the name from any
 * address.
 *
 * Addresses are held per family in flat maps per prefix length, so
 * a lookup costs two map probes (network; network and name) per prefix length in use (at most 33 for
 * IPv4, 129 for IPv6; a handful in practice), whatever the number of
 * exceptions: the same cost as walking a prefix trie, without a node per
 * bit. Entries are candidates (in effect now or later): whether one is in
 * effect is decided at the instant of the lookup, so an expiry takes effect
 * at its exact instant, not when the list is next rebuilt.
 *
 * Follows the enforcement core as an EntryListener: `onFull` replaces the
 * whole set, `onChange` applies what was added and removed.
 */
export class PolicyMatcher implements EntryListener {
  private readonly entries = new Map<string, AllowlistEntry>();
  private readonly v4 = new PrefixIndex(32);
  private readonly v6 = new PrefixIndex(128);
  private readonly helo = new Map<string, AllowlistEntry[]>();
  private loadedVersion: bigint | null = null;

  /** The version of the list last applied, or null before the first. */
  get version(): bigint | null {
    return this.loadedVersion;
  }

  /** How many exceptions are held (in effect now or later). */
  get size(): number {
    return this.entries.size;
  }

  onFull(entries: readonly AllowlistEntry[], version: bigint): void {
    this.entries.clear();
    this.v4.clear();
    this.v6.clear();
    this.helo.clear();
    for (const entry of entries) {
      this.add(entry);
    }
    this.loadedVersion = version;
  }

  onChange(change: EntryChange): void {
    // Removed first: a changed exception comes as removed (old) and added (new), with one id.
    for (const entry of change.removed) {
      this.remove(entry.exceptionId);
    }
    for (const entry of change.added) {
      this.add(entry);
    }
    this.loadedVersion = change.version;
  }

  /**
   * The exceptions in effect at `nowMs` that let this pair through (none:
   * an empty list). `heloName` and `clientAddress` as Postfix sends them.
   */
  match(heloName: string, clientAddress: string, nowMs: number): readonly AllowlistEntry[] {
    const name = heloKey(heloName);
    let found: AllowlistEntry[] | undefined;
    if (name !== null) {
      found = collectInEffect(this.helo.get(name), nowMs, found);
    }
    const address = addressKey(clientAddress);
    if (address !== null) {
      const index = address.family === 4 ? this.v4 : this.v6;
      for (const length of index.lengths) {
        const network = address.family === 4 ? String(maskIpv4(address.value, length)) : maskIpv6(address.hex, length);
        found = collectInEffect(index.lookup(length, network), nowMs, found);
        if (name !== null) {
          found = collectInEffect(index.lookup(length, `${network} ${name}`), nowMs, found);
        }
      }
    }
    return found ?? NONE;
  }

  private add(entry: AllowlistEntry): void {
    if (this.entries.has(entry.exceptionId)) {
      this.remove(entry.exceptionId);
    }
    this.entries.set(entry.exceptionId, entry);
    const name = entry.heloHostname.toLowerCase();
    if (entry.scope === 'helo') {
      const list = this.helo.get(name);
      if (list === undefined) {
        this.helo.set(name, [entry]);
      } else {
        list.push(entry);
      }
      return;
    }
    this.forEachNetwork(entry, (index, length, network) => index.add(length, entry.scope === 'ip' ? network : `${network} ${name}`, entry));
  }

  private remove(exceptionId: string): void {
    const entry = this.entries.get(exceptionId);
    if (entry === undefined) {
      return;
    }
    this.entries.delete(exceptionId);
    const name = entry.heloHostname.toLowerCase();
    if (entry.scope === 'helo') {
      const list = this.helo.get(name);
      if (list !== undefined && removeFrom(list, exceptionId) && list.length === 0) {
        this.helo.delete(name);
      }
      return;
    }
    this.forEachNetwork(entry, (index, length, network) => index.remove(length, entry.scope === 'ip' ? network : `${network} ${name}`, exceptionId));
  }

  /** Calls `visit` with the index, length and network key of each of the entry's addresses. */
  private forEachNetwork(entry: AllowlistEntry, visit: (index: PrefixIndex, length: number, network: string) => void): void {
    for (const cidr of entry.addresses) {
      const prefix = prefixKey(cidr);
      if (prefix === null) {
        continue; // the core hands over canonical CIDRs; anything else cannot match an address
      }
      const { key, length } = prefix;
      if (key.family === 4) {
        visit(this.v4, length, String(maskIpv4(key.value, length)));
      } else {
        visit(this.v6, length, maskIpv6(key.hex, length));
      }
    }
  }
}
