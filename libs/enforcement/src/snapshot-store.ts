import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { NotificationHub } from '@app/database';
import { Clock } from '@app/domain';
import { AllowlistRepository } from './allowlist.repository.js';
import { FEED_CHANNEL } from './feed-change-log.js';
import { FEED_SIGNER } from './signer.provider.js';
import type { FeedSigner } from './signing.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';
import { diffEntries, type EntryListener } from './entry-changes.js';

/** setTimeout's ceiling (about 24.8 days); a later transition is re-armed on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The allowlist held in memory, every rendering pre-built, so that feed
 * requests (and policy lookups) never touch the database. It is rebuilt:
 * - on `NOTIFY helopass_feed` (sent by every change to the list, on commit);
 * - at the next instant an exception starts or expires, from the rows already
 *   loaded (exact, and without the database);
 * - when a periodic look at the version finds it moved (a lost NOTIFY).
 * When the database is unreachable it keeps the last snapshot and says since
 * when it is stale; it recovers by itself.
 */
@Injectable()
export class SnapshotStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SnapshotStore.name);
  private snapshot: Snapshot | undefined;
  private staleSince: Date | null = null;
  private unsubscribe: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private transitionTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private stopped = false;
  private readonly listeners = new Set<EntryListener>();

  constructor(
    private readonly repository: AllowlistRepository,
    private readonly clock: Clock,
    @Inject(FEED_SIGNER) private readonly signer: FeedSigner,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    private readonly notifications: NotificationHub,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    // Each change is announced; a reconnected hub may have missed some, so the list is read again then.
    this.unsubscribe = this.notifications.subscribe(FEED_CHANNEL, {
      onNotification: () => void this.reload(),
      onListening: () => void this.reload(),
    });
    this.pollTimer = setInterval(() => void this.pollVersion(), this.config.feed.pollSeconds * 1000);
    this.pollTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.transitionTimer);
    this.unsubscribe?.();
    await this.reloading;
  }

  /** The current snapshot; undefined only before the first successful load. */
  current(): Snapshot | undefined {
    return this.snapshot;
  }

  /**
   * Follows the loaded exceptions: `onFull` at once with what is loaded (if
   * anything), then `onChange` with the difference at every new version.
   * Returns the function that stops following.
   */
  subscribe(listener: EntryListener): () => void {
    this.listeners.add(listener);
    if (this.snapshot) {
      listener.onFull(this.snapshot.candidates, this.snapshot.version);
    }
    return () => this.listeners.delete(listener);
  }

  /** Since when the snapshot may be out of date (the database could not be read), or null. */
  stale(): Date | null {
    return this.staleSince;
  }

  /** Reloads from the database; concurrent calls share one load, and a call during a load queues one more. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.loadOnce();
      } while (this.reloadAgain && !this.stopped);
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Re-renders from the rows already loaded, for the instant now (a start or an expiry passed). */
  rerender(): void {
    if (!this.snapshot) {
      return;
    }
    const { candidates, version } = this.snapshot;
    const changedAt = this.snapshot.asOf;
    this.install(buildSnapshot(candidates, version, changedAt, this.clock.now(), this.snapshot, (body) => this.signer.sign(body)));
  }

  private async loadOnce(): Promise<void> {
    const now = this.clock.now();
    try {
      const { head, candidates } = await this.repository.load(now);
      this.install(buildSnapshot(candidates, head.version, head.changedAt, now, this.snapshot, (body) => this.signer.sign(body)));
      if (this.staleSince) {
        this.logger.log('database reachable again; the allowlist is current');
      }
      this.staleSince = null;
    } catch (error) {
      if (!this.staleSince) {
        this.staleSince = now;
        this.logger.error({ err: error }, 'cannot read the allowlist; serving the last snapshot');
      }
      if (!this.snapshot) {
        throw error;
      }
    }
  }

  private install(snapshot: Snapshot): void {
    const previous = this.snapshot;
    this.snapshot = snapshot;
    this.tellListeners(previous, snapshot);
    clearTimeout(this.transitionTimer);
    if (snapshot.nextTransition && !this.stopped) {
      const delay = Math.min(Math.max(snapshot.nextTransition.getTime() - this.clock.now().getTime(), 0), MAX_TIMER_MS);
      this.transitionTimer = setTimeout(() => this.rerender(), delay);
      this.transitionTimer.unref();
    }
  }

  private tellListeners(previous: Snapshot | undefined, next: Snapshot): void {
    if (this.listeners.size === 0 || previous?.candidates === next.candidates) {
      return; // a re-render for a start or an expiry: the candidates did not move
    }
    if (!previous) {
      this.listeners.forEach((listener) => listener.onFull(next.candidates, next.version));
      return;
    }
    const { added, removed } = diffEntries(previous.candidates, next.candidates);
    if (added.length > 0 || removed.length > 0) {
      this.listeners.forEach((listener) => listener.onChange({ version: next.version, added, removed }));
    }
  }

  private async pollVersion(): Promise<void> {
    try {
      const head = await this.repository.head();
      if (this.staleSince || !this.snapshot || head.version !== this.snapshot.version) {
        await this.reload();
      }
    } catch (error) {
      if (!this.staleSince) {
        this.staleSince = this.clock.now();
        this.logger.error({ err: error }, 'cannot read the allowlist version; serving the last snapshot');
      }
    }
  }
}
