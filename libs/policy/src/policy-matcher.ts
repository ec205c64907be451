import type { AllowlistEntry, EntryChange, EntryListener } from '@app/enforcement';
import { addressKey, heloKey, maskIpv4, maskIpv6, prefixKey } from './policy-keys.js';

/** The exceptions held under one network (one prefix of one length). */
interface Bucket {
  /** `ip` exceptions: any HELO name from this network. */
  ip: AllowlistEntry[];
  /** `pair` exceptions by their HELO name: only that name from this network. */
  pair: Map<string, AllowlistEntry[]>;
  size: number;
}

/** One address family: a map of networks per prefix length, and the lengths in use (longest first). */
class PrefixIndex<K> {
  private readonly byLength: (Map<K, Bucket> | undefined)[];
  /** Lengths that hold at least one network, longest first: a lookup visits only these. */
  lengths: number[] = [];

  constructor(bits: number) {
    this.byLength = new Array<Map<K, Bucket> | undefined>(bits + 1);
  }

  bucket(length: number, key: K, create: true): Bucket;
  bucket(length: number, key: K, create: false): Bucket | undefined;
  bucket(length: number, key: K, create: boolean): Bucket | undefined {
    let networks = this.byLength[length];
    if (networks === undefined) {
      if (!create) {
        return undefined;
      }
      networks = new Map();
      this.byLength[length] = networks;
      this.lengths = [...this.lengths, length].sort((a, b) => b - a);
    }
    let bucket = networks.get(key);
    if (bucket === undefined && create) {
      bucket = { ip: [], pair: new Map(), size: 0 };
      networks.set(key, bucket);
    }
    return bucket;
  }

  /** Drops the network once it holds nothing, and the length once no network has it. */
  release(length: number, key: K, bucket: Bucket): void {
    if (bucket.size > 0) {
      return;
    }
    const networks = this.byLength[length]!;
    networks.delete(key);
    if (networks.size === 0) {
      this.byLength[length] = undefined;
      this.lengths = this.lengths.filter((item) => item !== length);
    }
  }

  lookup(length: number, key: K): Bucket | undefined {
    return this.byLength[length]?.get(key);
  }

  clear(): void {
    this.byLength.fill(undefined);
    this.lengths = [];
  }
}

const NONE: readonly AllowlistEntry[] = Object.freeze([]);

const removeFrom = (list: AllowlistEntry[], exceptionId: string): boolean => {
  const index = list.findIndex((entry) => entry.exceptionId === exceptionId);
  if (index === -1) {
    return false;
  }
  list.splice(index, 1);
  return true;
};

/**
 * The policy server's decision: which exceptions let a (HELO name, client
 * address) pair through, by scope — `pair`: the name from an address of the
 * exception; `ip`: any name from such an address; `helo`: the name from any
 * address.
 *
 * Addresses are held per family in a map of networks per prefix length, so
 * a lookup costs one map probe per prefix length in use (at most 33 for
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
  private readonly v4 = new PrefixIndex<number>(32);
  private readonly v6 = new PrefixIndex<string>(128);
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
    const take = (list: readonly AllowlistEntry[] | undefined) => {
      if (list === undefined) {
        return;
      }
      for (const entry of list) {
        if (entry.startsAt.getTime() <= nowMs && nowMs < entry.expiresAt.getTime()) {
          (found ??= []).push(entry);
        }
      }
    };
    if (name !== null) {
      take(this.helo.get(name));
    }
    const address = addressKey(clientAddress);
    if (address !== null) {
      const visit = (bucket: Bucket | undefined) => {
        if (bucket !== undefined) {
          take(bucket.ip);
          if (name !== null) {
            take(bucket.pair.get(name));
          }
        }
      };
      if (address.family === 4) {
        for (const length of this.v4.lengths) {
          visit(this.v4.lookup(length, maskIpv4(address.value, length)));
        }
      } else {
        for (const length of this.v6.lengths) {
          visit(this.v6.lookup(length, maskIpv6(address.hex, length)));
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
    this.forEachNetwork(entry, (bucket) => {
      if (entry.scope === 'ip') {
        bucket.ip.push(entry);
      } else {
        const list = bucket.pair.get(name);
        if (list === undefined) {
          bucket.pair.set(name, [entry]);
        } else {
          list.push(entry);
        }
      }
      bucket.size++;
    });
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
    this.forEachNetwork(entry, (bucket) => {
      let removed: boolean;
      if (entry.scope === 'ip') {
        removed = removeFrom(bucket.ip, exceptionId);
      } else {
        const list = bucket.pair.get(name);
        removed = list !== undefined && removeFrom(list, exceptionId);
        if (list !== undefined && list.length === 0) {
          bucket.pair.delete(name);
        }
      }
      if (removed) {
        bucket.size--;
      }
    });
  }

  /** Calls `visit` with the bucket of each of the entry's networks (created when `visit` adds to it). */
  private forEachNetwork(entry: AllowlistEntry, visit: (bucket: Bucket) => void): void {
    for (const cidr of entry.addresses) {
      const prefix = prefixKey(cidr);
      if (prefix === null) {
        continue; // the core hands over canonical CIDRs; anything else cannot match an address
      }
      const { key, length } = prefix;
      if (key.family === 4) {
        const network = maskIpv4(key.value, length);
        const bucket = this.v4.bucket(length, network, true);
        visit(bucket);
        this.v4.release(length, network, bucket);
      } else {
        const network = maskIpv6(key.hex, length);
        const bucket = this.v6.bucket(length, network, true);
        visit(bucket);
        this.v6.release(length, network, bucket);
      }
    }
  }
}
