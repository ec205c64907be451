import { BlockRenderer, type RenderedBody } from './block-rendering.js';
import { cidrSortKey, inEffectAt, type AllowlistEntry, type Rendering } from './render.js';
import { SortedBlocks } from './sorted-blocks.js';

/** One exception's state at a version: its entry when it is in the list (now or later), else null. */
export interface EntryState {
  exceptionId: string;
  entry: AllowlistEntry | null;
}

/** What moved among the candidates, as subscribe() listeners are told. */
export interface CandidateChange {
  added: AllowlistEntry[];
  removed: AllowlistEntry[];
}

export function sameEntry(a: AllowlistEntry, b: AllowlistEntry): boolean {
  return (
    a.organizationId === b.organizationId &&
    a.scope === b.scope &&
    a.heloHostname === b.heloHostname &&
    a.startsAt.getTime() === b.startsAt.getTime() &&
    a.expiresAt.getTime() === b.expiresAt.getTime() &&
    a.addresses.length === b.addresses.length &&
    a.addresses.every((address, index) => address === b.addresses[index])
  );
}

const jsonKey = (entry: AllowlistEntry) => `${entry.heloHostname}\u0000${entry.exceptionId}`;

/** Counts how many entries list a value; the value is listed while the count is above zero. */
class Counted {
  private readonly counts = new Map<string, number>();
  add(value: string, into: Set<string>, out: Set<string>): void {
    const count = (this.counts.get(value) ?? 0) + 1;
    this.counts.set(value, count);
    if (count === 1) {
      into.add(value);
      out.delete(value);
    }
  }
  remove(value: string, into: Set<string>, out: Set<string>): void {
    const count = (this.counts.get(value) ?? 0) - 1;
    if (count <= 0) {
      this.counts.delete(value);
      out.add(value);
      into.delete(value);
    } else {
      this.counts.set(value, count);
    }
  }
  keys(): IterableIterator<string> {
    return this.counts.keys();
  }
}

/** Pending edits of one sorted list, applied at the next render. */
interface Pending {
  put: Set<string>;
  removed: Set<string>;
}
const pending = (): Pending => ({ put: new Set(), removed: new Set() });

/**
 * The allowlist as an index: the candidates (exceptions in effect now or
 * later) by id, and — for the instant `now` — the sorted addresses, HELO names
 * and JSON entries that are in effect, each a block list that renderings
 * follow incrementally. Changes and the passing of time only touch what they
 * move; rendering copies every unchanged block's bytes.
 */
export class AllowlistIndex {
  private readonly candidates = new Map<string, AllowlistEntry>();
  private readonly inEffect = new Set<string>();
  private readonly addressCounts = new Counted();
  private readonly nameCounts = new Counted();
  private readonly addresses = new SortedBlocks(1024);
  private readonly names = new SortedBlocks(1024);
  private readonly jsonEntries = new SortedBlocks(256);
  private addressEdits = pending();
  private nameEdits = pending();
  private jsonEdits = pending();
  private readonly sortKeys = new Map<string, string>();
  private now: Date;
  private next: number | null = null;
  private last: number | null = null;
  private transitionsDirty = true;
  readonly renderers = {
    'postfix-cidr': new BlockRenderer((cidr) => `${cidr} OK\n`),
    'rspamd-ip': new BlockRenderer((cidr) => `${cidr}\n`),
    'postfix-helo': new BlockRenderer((name) => `${name} OK\n`),
    'rspamd-helo': new BlockRenderer((name) => `${name}\n`),
    json: new BlockRenderer((id) => `,${jsonEntry(this.candidates.get(id)!)}`, 1),
  };

  constructor(candidates: Iterable<AllowlistEntry>, now: Date) {
    this.now = now;
    for (const entry of candidates) {
      this.candidates.set(entry.exceptionId, entry);
    }
    for (const entry of this.candidates.values()) {
      if (inEffectAt(entry, now)) {
        this.enter(entry);
      }
    }
    this.addresses.reset([...this.addressEdits.put].map((cidr) => [this.sortKey(cidr), cidr] as const));
    this.names.reset([...this.nameEdits.put].map((name) => [name, name] as const));
    this.jsonEntries.reset([...this.jsonEdits.put].map((id) => [jsonKey(this.candidates.get(id)!), id] as const));
    this.addressEdits = pending();
    this.nameEdits = pending();
    this.jsonEdits = pending();
  }

  get size(): number {
    return this.candidates.size;
  }

  /** Every candidate (in effect now or later). */
  entries(): IterableIterator<AllowlistEntry> {
    return this.candidates.values();
  }

  get(exceptionId: string): AllowlistEntry | undefined {
    return this.candidates.get(exceptionId);
  }

  private sortKey(cidr: string): string {
    let key = this.sortKeys.get(cidr);
    if (key === undefined) {
      key = cidrSortKey(cidr);
      this.sortKeys.set(cidr, key);
    }
    return key;
  }

  private enter(entry: AllowlistEntry): void {
    this.inEffect.add(entry.exceptionId);
    if (entry.scope === 'helo') {
      this.nameCounts.add(entry.heloHostname, this.nameEdits.put, this.nameEdits.removed);
    } else {
      new Set(entry.addresses).forEach((cidr) => this.addressCounts.add(cidr, this.addressEdits.put, this.addressEdits.removed));
    }
    this.jsonEdits.put.add(entry.exceptionId);
  }

  private leave(entry: AllowlistEntry): void {
    this.inEffect.delete(entry.exceptionId);
    if (entry.scope === 'helo') {
      this.nameCounts.remove(entry.heloHostname, this.nameEdits.put, this.nameEdits.removed);
    } else {
      new Set(entry.addresses).forEach((cidr) => this.addressCounts.remove(cidr, this.addressEdits.put, this.addressEdits.removed));
    }
    // Removed by its old sort key (the HELO name may differ in the entry that replaces it).
    this.jsonEdits.removed.add(jsonKey(entry));
    this.jsonEdits.put.delete(entry.exceptionId);
  }

  /**
   * Applies exception states (a version's changes, in order) and answers the
   * net change of candidates: an entry whose fields changed is the old one
   * removed and the new one added.
   */
  apply(states: Iterable<EntryState>): CandidateChange {
    const before = new Map<string, AllowlistEntry | undefined>();
    for (const { exceptionId, entry } of states) {
      const old = this.candidates.get(exceptionId);
      if (!before.has(exceptionId)) {
        before.set(exceptionId, old);
      }
      if (old && entry && sameEntry(old, entry)) {
        continue;
      }
      if (old) {
        if (this.inEffect.has(exceptionId)) {
          this.leave(old);
        }
        this.candidates.delete(exceptionId);
        this.forgetTransitions(old);
      }
      if (entry) {
        this.candidates.set(exceptionId, entry);
        if (inEffectAt(entry, this.now)) {
          this.enter(entry);
        }
        this.noteTransitions(entry);
      }
    }
    const change: CandidateChange = { added: [], removed: [] };
    for (const [exceptionId, old] of before) {
      const now = this.candidates.get(exceptionId);
      if (old && now && sameEntry(old, now)) {
        continue;
      }
      if (old) change.removed.push(old);
      if (now) change.added.push(now);
    }
    return change;
  }

  /** Forgets candidates that expired at or before `instant` (they can no longer enter the list or move its time). */
  purgeExpired(instant: Date): AllowlistEntry[] {
    const gone: AllowlistEntry[] = [];
    for (const entry of this.candidates.values()) {
      if (entry.expiresAt <= instant && !this.inEffect.has(entry.exceptionId)) {
        gone.push(entry);
      }
    }
    gone.forEach((entry) => {
      this.candidates.delete(entry.exceptionId);
      this.forgetTransitions(entry);
    });
    return gone;
  }

  /** An entry left: the nearest transitions need a new look only if they were its own. */
  private forgetTransitions(entry: AllowlistEntry): void {
    for (const instant of [entry.startsAt.getTime(), entry.expiresAt.getTime()]) {
      if (instant === this.next || instant === this.last) {
        this.transitionsDirty = true;
      }
    }
  }

  private noteTransitions(entry: AllowlistEntry): void {
    if (this.transitionsDirty) {
      return;
    }
    const now = this.now.getTime();
    for (const instant of [entry.startsAt.getTime(), entry.expiresAt.getTime()]) {
      if (instant > now && (this.next === null || instant < this.next)) this.next = instant;
      if (instant <= now && (this.last === null || instant > this.last)) this.last = instant;
    }
  }

  /** Moves the index to `now`: entries that started or expired since enter or leave the list. */
  advance(now: Date): void {
    const moved = now.getTime() !== this.now.getTime();
    const crossed = now < this.now || (this.next !== null && now.getTime() >= this.next);
    this.now = now;
    if (!moved && !this.transitionsDirty) {
      return;
    }
    if (!crossed && !this.transitionsDirty) {
      return;
    }
    // One pass: who is in effect now, and the nearest transitions on either side.
    let next: number | null = null;
    let last: number | null = null;
    const at = now.getTime();
    for (const entry of this.candidates.values()) {
      const should = inEffectAt(entry, now);
      if (should !== this.inEffect.has(entry.exceptionId)) {
        if (should) this.enter(entry);
        else this.leave(entry);
      }
      for (const instant of [entry.startsAt.getTime(), entry.expiresAt.getTime()]) {
        if (instant > at && (next === null || instant < next)) next = instant;
        if (instant <= at && (last === null || instant > last)) last = instant;
      }
    }
    this.next = next;
    this.last = last;
    this.transitionsDirty = false;
  }

  /** The next instant the list changes by itself, after now. */
  nextTransition(): Date | null {
    this.advance(this.now);
    return this.next === null ? null : new Date(this.next);
  }

  /** The latest start or expiry at or before now. */
  lastTransition(): Date | null {
    this.advance(this.now);
    return this.last === null ? null : new Date(this.last);
  }

  /** Applies pending edits to the sorted lists (before rendering). */
  settle(): void {
    this.advance(this.now);
    const settleList = (list: SortedBlocks, edits: Pending, key: (value: string) => string) => {
      if (edits.put.size === 0 && edits.removed.size === 0) {
        return;
      }
      const puts = new Map<string, string>();
      edits.put.forEach((value) => puts.set(key(value), value));
      const removals = [...edits.removed].map((value) => (list === this.jsonEntries ? value : key(value)));
      list.apply(puts, removals);
    };
    settleList(this.addresses, this.addressEdits, (cidr) => this.sortKey(cidr));
    settleList(this.names, this.nameEdits, (name) => name);
    settleList(this.jsonEntries, this.jsonEdits, (id) => jsonKey(this.candidates.get(id)!));
    for (const cidr of this.addressEdits.removed) {
      this.sortKeys.delete(cidr);
    }
    this.addressEdits = pending();
    this.nameEdits = pending();
    this.jsonEdits = pending();
  }

  counts(): { addresses: number; names: number; entries: number } {
    this.settle();
    return { addresses: this.addresses.size, names: this.names.size, entries: this.jsonEntries.size };
  }

  /** Blocks that the next render of `rendering` still has to build. */
  uncached(rendering: Rendering): number {
    return this.renderers[rendering].uncached(this.listFor(rendering));
  }

  /** Builds some of the blocks ahead (a budget of milliseconds); answers whether all are ready. */
  warm(rendering: Rendering, budgetMs: number): boolean {
    this.settle();
    return this.renderers[rendering].warm(this.listFor(rendering), budgetMs);
  }

  private listFor(rendering: Rendering): SortedBlocks {
    return rendering === 'json' ? this.jsonEntries : rendering.endsWith('helo') ? this.names : this.addresses;
  }

  render(rendering: Rendering, head: string, tail: string): RenderedBody {
    this.settle();
    return this.renderers[rendering].render(this.listFor(rendering), head, tail);
  }
}

/** One JSON entry, fields in the order the feed has always had. */
function jsonEntry(entry: AllowlistEntry): string {
  return JSON.stringify({
    exceptionId: entry.exceptionId,
    organizationId: entry.organizationId,
    scope: entry.scope,
    heloHostname: entry.heloHostname,
    addresses: entry.addresses,
    expiresAt: entry.expiresAt.toISOString(),
  });
}
