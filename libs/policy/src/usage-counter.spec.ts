import { describe, expect, it } from 'vitest';
import { UsageCounter, type UsageBatch, type UsageStore } from './usage-counter.js';

/** A store that keeps applied batch ids, as the database does, and can be told to fail before or after "committing". */
class RecordingStore implements UsageStore {
  readonly totals = new Map<string, { count: number; last: number }>();
  readonly applied = new Set<string>();
  attempts: string[] = [];
  failNext: 'before-commit' | 'after-commit' | null = null;

  apply(batch: UsageBatch): Promise<void> {
    this.attempts.push(batch.id);
    const failure = this.failNext;
    this.failNext = null;
    if (failure === 'before-commit') {
      return Promise.reject(new Error('connection refused'));
    }
    if (!this.applied.has(batch.id)) {
      this.applied.add(batch.id);
      for (const item of batch.items) {
        const total = this.totals.get(item.exceptionId) ?? { count: 0, last: 0 };
        this.totals.set(item.exceptionId, { count: total.count + item.count, last: Math.max(total.last, item.lastMatchedAt) });
      }
    }
    return failure === 'after-commit' ? Promise.reject(new Error('connection lost before the answer')) : Promise.resolve();
  }
}

describe('UsageCounter', () => {
  it('writes one batch per flush with each exception counted and its last match', async () => {
    const store = new RecordingStore();
    const counter = new UsageCounter(store);
    counter.record('a', 100);
    counter.record('a', 300);
    counter.record('a', 200);
    counter.record('b', 150);
    expect(await counter.flush()).toEqual({ exceptions: 2, matches: 4 });
    expect(store.attempts).toHaveLength(1);
    expect(store.totals.get('a')).toEqual({ count: 3, last: 300 });
    expect(store.totals.get('b')).toEqual({ count: 1, last: 150 });
    expect(await counter.flush()).toEqual({ exceptions: 0, matches: 0 });
    expect(store.attempts).toHaveLength(1);
  });

  it('keeps the counts through a failed flush and writes them at the next, with what came meanwhile', async () => {
    const store = new RecordingStore();
    const counter = new UsageCounter(store);
    counter.record('a', 1);
    store.failNext = 'before-commit';
    await expect(counter.flush()).rejects.toThrow('connection refused');
    expect(counter.unwritten).toBe(1);
    counter.record('a', 2);
    await counter.flush();
    expect(store.totals.get('a')).toEqual({ count: 2, last: 2 });
    expect(counter.unwritten).toBe(0);
  });

  it('retries a batch under the same id, so a first try that did commit is not counted twice', async () => {
    const store = new RecordingStore();
    const counter = new UsageCounter(store);
    counter.record('a', 1);
    counter.record('a', 1);
    store.failNext = 'after-commit';
    await expect(counter.flush()).rejects.toThrow('before the answer');
    counter.record('a', 5);
    await counter.flush();
    expect(store.attempts[0]).toBe(store.attempts[1]);
    expect(store.attempts).toHaveLength(3);
    expect(store.totals.get('a')).toEqual({ count: 3, last: 5 });
  });

  it('shares one flush between concurrent calls', async () => {
    const store = new RecordingStore();
    const counter = new UsageCounter(store);
    counter.record('a', 1);
    const [first, second] = await Promise.all([counter.flush(), counter.flush()]);
    expect(first).toEqual(second);
    expect(store.attempts).toHaveLength(1);
  });
});
