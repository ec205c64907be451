import { randomUUID } from 'node:crypto';

/** Matches of one exception since the last flush. */
export interface ExceptionUsage {
  exceptionId: string;
  count: number;
  /** The last match, epoch milliseconds. */
  lastMatchedAt: number;
}

/** One flush: its id names it for good, so that a retry is recognized. */
export interface UsageBatch {
  id: string;
  items: ExceptionUsage[];
}

export interface UsageStore {
  /**
   * Adds the batch's counts, once: a batch whose id was applied before adds
   * nothing (a retry after a lost answer). Throws when the outcome is not known.
   */
  apply(batch: UsageBatch): Promise<void>;
}

export interface FlushOutcome {
  /** Exceptions whose counts were written. */
  exceptions: number;
  matches: number;
}

/**
 * Match counts kept in memory and written in batches, never a write per
 * decision. A batch that fails keeps its id and its content and is sent
 * again, before anything newer, until the store takes it; matches meanwhile
 * go to the next batch. The store applies a batch id at most once, so a
 * retry whose first try did commit counts nothing twice, and any number of
 * servers add their own batches side by side.
 *
 * Memory is bounded by the number of distinct exceptions matched between
 * two successful flushes (at most the list's size), not by traffic.
 */
export class UsageCounter {
  private pending = new Map<string, ExceptionUsage>();
  private unsent: UsageBatch | undefined;
  private flushing: Promise<FlushOutcome> | undefined;

  constructor(private readonly store: UsageStore) {}

  record(exceptionId: string, atMs: number): void {
    const usage = this.pending.get(exceptionId);
    if (usage === undefined) {
      this.pending.set(exceptionId, { exceptionId, count: 1, lastMatchedAt: atMs });
    } else {
      usage.count++;
      if (atMs > usage.lastMatchedAt) {
        usage.lastMatchedAt = atMs;
      }
    }
  }

  /** Matches counted and not yet known to be written (for logs and tests). */
  get unwritten(): number {
    let total = 0;
    for (const usage of this.pending.values()) {
      total += usage.count;
    }
    for (const usage of this.unsent?.items ?? []) {
      total += usage.count;
    }
    return total;
  }

  /**
   * Writes what was counted: a batch left from a failed flush first (same
   * id), then everything since. Concurrent calls share one flush. Throws
   * when the store fails; nothing is lost then.
   */
  flush(): Promise<FlushOutcome> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<FlushOutcome> {
    const outcome: FlushOutcome = { exceptions: 0, matches: 0 };
    // At most the batch left over and one new one: matches that arrive while
    // it is written wait for the next flush, so that a busy server's flush ends.
    for (let round = 0; round < 2; round++) {
      if (this.unsent === undefined) {
        if (this.pending.size === 0) {
          return outcome;
        }
        this.unsent = { id: randomUUID(), items: [...this.pending.values()] };
        this.pending = new Map();
      }
      const batch = this.unsent;
      await this.store.apply(batch);
      this.unsent = undefined;
      outcome.exceptions += batch.items.length;
      outcome.matches += batch.items.reduce((sum, item) => sum + item.count, 0);
    }
    return outcome;
  }
}
