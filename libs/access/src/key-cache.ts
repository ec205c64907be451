import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { DatabaseUnavailableError, databaseUnavailability } from '@app/database';

export interface KeyCacheOptions {
  /** How long a lookup (known or unknown) is trusted from memory while revocations are heard. */
  readonly ttlMs: number;
  /** Most keys remembered, and separately most unknown prefixes remembered. */
  readonly maxEntries: number;
  /** A lookup that takes longer counts as "the database does not answer". */
  readonly lookupTimeoutMs: number;
  /** While the database is down, at most one lookup goes to it this often. */
  readonly probeIntervalMs: number;
  /** Milliseconds since the epoch; tests pass one they move by hand. */
  readonly now?: () => number;
}

/**
 * What one process remembers of API keys, by their (non-secret) prefix, so
 * that polling filters cost no database work and a database that does not
 * answer never holds authentication up.
 *
 * - A key found is remembered (`ttlMs` while revocations are heard, and
 *   without limit of age while the database cannot be reached: keys already
 *   known keep working through an outage).
 * - A prefix not found is remembered too, in a bounded LRU, so a flood of
 *   made-up keys neither reaches the database each time nor grows memory.
 *   Prefixes come from 256 random bits, so such an entry is for a key that
 *   did not exist when it was looked up; creating a key forgets its prefix
 *   anyway, here and (by NOTIFY) in every other process.
 * - When a lookup finds the database unreachable or too slow, lookups stop
 *   for `probeIntervalMs`: known keys answer from memory, anything else fails
 *   at once with DatabaseUnavailableError (503), and one lookup per interval
 *   probes whether the database is back.
 */
export class KeyCache<R> {
  private readonly logger = new Logger('ApiKeyCache');
  private readonly known: LRUCache<string, { record: R; fetchedAt: number }>;
  private readonly unknown: LRUCache<string, number>;
  /** No lookup goes to the database before this instant. */
  private closedUntil = 0;
  private downSince: number | undefined;
  /** A lookup is checking whether the database is back; the others do not wait for it. */
  private probing = false;
  /** Bumped by every forget/clear: a lookup that overlapped one must not store what it read before it. */
  private generation = 0;
  private readonly now: () => number;

  constructor(
    private readonly load: (prefix: string) => Promise<R | null>,
    private readonly options: KeyCacheOptions,
  ) {
    this.known = new LRUCache({ max: options.maxEntries });
    this.unknown = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
  }

  /**
   * The key with this prefix, or null when there is none. `trusted`: changes
   * are being heard (NOTIFY), so a fresh memory may answer without a lookup.
   */
  async find(prefix: string, trusted: boolean): Promise<R | null> {
    const now = this.now();
    const cached = this.known.get(prefix);
    if (trusted && cached && now - cached.fetchedAt < this.options.ttlMs) {
      return cached.record;
    }
    const missedAt = this.unknown.get(prefix);
    if (trusted && missedAt !== undefined && now - missedAt < this.options.ttlMs) {
      return null;
    }
    if (now < this.closedUntil || (this.downSince !== undefined && this.probing)) {
      if (cached) {
        return cached.record;
      }
      throw new DatabaseUnavailableError('unreachable', 'the database is unavailable; keys not yet known cannot be checked');
    }
    const probe = this.downSince !== undefined;
    if (probe) {
      this.probing = true;
    }
    const generation = this.generation;
    let record: R | null;
    try {
      record = await this.lookup(prefix);
    } catch (error) {
      const reason = databaseUnavailability(error);
      if (!reason) {
        throw error;
      }
      this.markDown(error);
      if (cached) {
        return cached.record;
      }
      throw error instanceof DatabaseUnavailableError ? error : new DatabaseUnavailableError(reason);
    } finally {
      if (probe) {
        this.probing = false;
      }
    }
    this.markUp();
    if (generation !== this.generation) {
      return record;
    }
    if (record) {
      this.known.set(prefix, { record, fetchedAt: now });
      this.unknown.delete(prefix);
    } else {
      this.known.delete(prefix);
      this.unknown.set(prefix, now);
    }
    return record;
  }

  /**
   * Remembers a key read from elsewhere than the database (the copy on disk):
   * as if fetched long ago, so that it is looked up again as soon as the
   * database answers, and answers from memory only while it does not.
   */
  remember(prefix: string, record: R): void {
    if (!this.known.has(prefix)) {
      this.known.set(prefix, { record, fetchedAt: -Infinity });
    }
  }

  /** Forgets one prefix (its key was created or revoked). */
  forget(prefix: string): void {
    this.generation += 1;
    this.known.delete(prefix);
    this.unknown.delete(prefix);
  }

  /** Forgets everything (a change was announced by another process). */
  clear(): void {
    this.generation += 1;
    this.known.clear();
    this.unknown.clear();
  }

  /**
   * Forgets everything and looks the next keys up at once: something else
   * (the notification hub listening again) has just reached the database, so
   * waiting for the next probe would only answer 503 to keys not yet known.
   */
  clearAfterReconnect(): void {
    this.clear();
    this.markUp();
  }

  /** How many prefixes are remembered as unknown (bounded by `maxEntries`). */
  get unknownCount(): number {
    return this.unknown.size;
  }

  private lookup(prefix: string): Promise<R | null> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new DatabaseUnavailableError('busy')), this.options.lookupTimeoutMs);
    });
    const lookup = this.load(prefix);
    // A lookup abandoned at the deadline may still fail later; nobody waits for it any more.
    lookup.catch(() => undefined);
    return Promise.race([lookup, deadline]).finally(() => clearTimeout(timer));
  }

  private markDown(error: unknown): void {
    // From when the lookup failed, which may be a whole lookup timeout after it started.
    const now = this.now();
    this.closedUntil = now + this.options.probeIntervalMs;
    if (this.downSince === undefined) {
      this.downSince = now;
      this.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'database unavailable: API keys already known are checked from memory, others answer 503',
      );
    }
  }

  private markUp(): void {
    if (this.downSince !== undefined) {
      this.logger.log({ downForMs: this.now() - this.downSince }, 'database reachable again: API keys are looked up again');
      this.downSince = undefined;
    }
    this.closedUntil = 0;
  }
}
