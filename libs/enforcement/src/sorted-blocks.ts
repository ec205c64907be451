/**
 * A sorted list of (key, value) items cut into blocks whose boundaries depend
 * only on the content: a block ends after every item whose key hashes to a
 * boundary (about one item in `averageSize`). So the same set of items always
 * gives the same blocks — whether built at once or reached by a thousand
 * small changes — and a change touches only the block it falls into (plus,
 * when a boundary item leaves, the next one). Renderings cache their bytes and
 * compressed bytes per block (see block-rendering.ts), which is what makes one
 * change cheap at a million entries and keeps the gzip bytes deterministic.
 *
 * Blocks are immutable: a change replaces the blocks it touches by new
 * objects, so a cache keyed by block identity never serves stale bytes.
 */
export interface Block {
  readonly keys: readonly string[];
  readonly values: readonly string[];
}

/** FNV-1a, 32 bits: cheap, and stable across processes and machines. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class SortedBlocks {
  private blockList: Block[] = [];
  private count = 0;

  constructor(private readonly averageSize: number) {}

  get blocks(): readonly Block[] {
    return this.blockList;
  }

  get size(): number {
    return this.count;
  }

  private isBoundary(key: string): boolean {
    return fnv1a(key) % this.averageSize === 0;
  }

  /** Cuts sorted items into canonical blocks. */
  private cut(keys: readonly string[], values: readonly string[], into: Block[]): void {
    let start = 0;
    for (let i = 0; i < keys.length; i++) {
      if (this.isBoundary(keys[i]!) || i === keys.length - 1) {
        into.push({ keys: keys.slice(start, i + 1), values: values.slice(start, i + 1) });
        start = i + 1;
      }
    }
  }

  /** Replaces the whole content (keys need not be sorted; they must be distinct). */
  reset(items: readonly (readonly [string, string])[]): void {
    const sorted = [...items].sort((a, b) => byCodePoint(a[0], b[0]));
    const blocks: Block[] = [];
    this.cut(
      sorted.map((item) => item[0]),
      sorted.map((item) => item[1]),
      blocks,
    );
    this.blockList = blocks;
    this.count = sorted.length;
  }

  /** Every value in key order. */
  *values(): Generator<string> {
    for (const block of this.blockList) {
      yield* block.values;
    }
  }

  /** The block a key belongs in: the first whose last key is not smaller, else the last. */
  private blockIndexFor(key: string): number {
    let low = 0;
    let high = this.blockList.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const block = this.blockList[middle]!;
      if (block.keys[block.keys.length - 1]! < key) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return Math.max(low, 0);
  }

  /**
   * Puts (key → value) items and removes keys, touching only the blocks they
   * fall into. A key both put and removed is put.
   */
  apply(puts: ReadonlyMap<string, string>, removals: Iterable<string>): void {
    const changes = new Map<number, Map<string, string | null>>();
    const note = (key: string, value: string | null) => {
      const index = this.blockIndexFor(key);
      let forBlock = changes.get(index);
      if (!forBlock) {
        forBlock = new Map();
        changes.set(index, forBlock);
      }
      forBlock.set(key, value);
    };
    for (const key of removals) {
      if (!puts.has(key)) {
        note(key, null);
      }
    }
    for (const [key, value] of puts) {
      note(key, value);
    }
    if (changes.size === 0) {
      return;
    }
    const old = this.blockList.length === 0 ? [{ keys: [], values: [] }] : this.blockList;
    const next: Block[] = [];
    let count = 0;
    let i = 0;
    while (i < old.length) {
      if (!changes.has(i)) {
        next.push(old[i]!);
        count += old[i]!.keys.length;
        i++;
        continue;
      }
      // A region of touched blocks, extended until it ends on a boundary again.
      const keys: string[] = [];
      const values: string[] = [];
      do {
        mergeInto(old[i]!, changes.get(i), keys, values);
        i++;
      } while (i < old.length && (changes.has(i) || (keys.length > 0 && !this.isBoundary(keys[keys.length - 1]!))));
      this.cut(keys, values, next);
      count += keys.length;
    }
    this.blockList = next;
    this.count = count;
  }
}

/** The block's items with its changes applied, appended to keys/values in order. */
function mergeInto(block: Block, changes: Map<string, string | null> | undefined, keys: string[], values: string[]): void {
  if (!changes) {
    keys.push(...block.keys);
    values.push(...block.values);
    return;
  }
  const changed = [...changes.keys()].sort(byCodePoint);
  let c = 0;
  for (let b = 0; b < block.keys.length; b++) {
    const key = block.keys[b]!;
    while (c < changed.length && changed[c]! < key) {
      const value = changes.get(changed[c]!);
      if (value != null) {
        keys.push(changed[c]!);
        values.push(value);
      }
      c++;
    }
    if (c < changed.length && changed[c] === key) {
      const value = changes.get(key);
      if (value != null) {
        keys.push(key);
        values.push(value);
      }
      c++;
    } else {
      keys.push(key);
      values.push(block.values[b]!);
    }
  }
  for (; c < changed.length; c++) {
    const value = changes.get(changed[c]!);
    if (value != null) {
      keys.push(changed[c]!);
      values.push(value);
    }
  }
}
