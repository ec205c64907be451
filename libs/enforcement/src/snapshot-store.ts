import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { CheckedFileError, databaseUnavailability, NotificationHub } from '@app/database';
import { Clock } from '@app/domain';
import { AllowlistIndex, type CandidateChange } from './allowlist-index.js';
import { AllowlistRepository } from './allowlist.repository.js';
import { FEED_CHANNEL } from './feed-change-log.js';
import { decodeChangeNotice, type ChangeNotice } from './feed-wire.js';
import { FEED_SIGNER, type FeedSigning } from './signer.provider.js';
import { CONTENT_TYPES, renderBody, renderSnapshot, type PreparedBody, type Snapshot } from './snapshot.js';
import { RENDERINGS, type Rendering } from './render.js';
import { SnapshotFile, type SavedSnapshot } from './snapshot-file.js';
import type { EntryListener } from './entry-changes.js';
import { localDigest } from './list-digest.js';

/** setTimeout's ceiling (about 24.8 days); a later transition is re-armed on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The allowlist held in memory as an index, every rendering pre-built, so
 * that feed requests (and policy lookups) never touch the database.
 *
 * It follows the database version by version: each change arrives in its
 * NOTIFY payload (or, when that was too large, a notice or a periodic look at
 * the version finds the version moved and the change log supplies exactly the
 * versions after the one held). Changes that arrive close together are applied
 * together (at most one swap every FEED_COALESCE_MS), and only the blocks of the
 * renderings they touch are built again. The whole list is read only at start,
 * when the change log no longer reaches back to the version held, or when the
 * periodic digest comparison finds memory and database disagree (an anomaly).
 *
 * At the instant an exception starts or expires the renderings are rebuilt
 * from memory (exact, without the database). When the database is unreachable
 * the last snapshot stays, marked stale since then; it catches up by itself.
 *
 * The last good snapshot is also kept on disk (SnapshotFile, at most one
 * write every SNAPSHOT_WRITE_SECONDS): a process that starts while the
 * database cannot be reached serves it, stale since it was written, with the
 * same bytes and validators, and reads the whole list once the database answers.
 */
@Injectable()
export class SnapshotStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SnapshotStore.name);
  private index: AllowlistIndex | undefined;
  private version = -1n;
  private changedAt = new Date(0);
  private snapshot: Snapshot | undefined;
  /** The last snapshot built (installed, or waiting for its signatures): Last-Modified follows it. */
  private built: Snapshot | undefined;
  private builds = 0;
  private installedBuild = 0;
  /** The install a build waiting for its signatures will make (JSON on demand waits for it). */
  private pendingInstall: Promise<void> | undefined;
  /** The JSON rendering of each snapshot, built when first asked for. */
  private readonly jsonBuilds = new WeakMap<Snapshot, Promise<PreparedBody>>();
  /** The last JSON body built (Last-Modified grows from it). */
  private lastJson: PreparedBody | undefined;
  private staleSince: Date | null = null;
  private readonly queue: ChangeNotice[] = [];
  private catchUpWanted = false;
  private fullLoadWanted = false;
  private working: Promise<void> | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private lastSwapAt = 0;
  private unsubscribe: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private digestTimer: NodeJS.Timeout | undefined;
  private transitionTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners = new Set<EntryListener>();
  private readonly counters = { fullLoads: 0, appliedVersions: 0, swaps: 0, anomalies: 0 };
  /** What is served came from the file on disk (not yet from the database). */
  private fromDisk: { savedAt: Date } | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private saveWanted = false;
  private lastSaveAt = 0;
  private savedAt: Date | undefined;
  /** Told when each batch of versions is served (the metrics' change-apply latency). */
  private appliedObserver: ((committedAt: readonly Date[]) => void) | undefined;

  constructor(
    private readonly repository: AllowlistRepository,
    private readonly clock: Clock,
    @Inject(FEED_SIGNER) private readonly signer: FeedSigning,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    private readonly notifications: NotificationHub,
    private readonly file: SnapshotFile,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.fullLoad();
    } catch (error) {
      if (databaseUnavailability(error) === undefined) {
        throw error;
      }
      // Started during an outage: serve what was last written, and read the whole list once the database answers.
      await this.loadFromDisk();
      this.fullLoadWanted = this.index !== undefined;
    }
    this.unsubscribe = this.notifications.subscribe(FEED_CHANNEL, {
      onNotification: (payload) => this.onNotice(payload),
      // A reconnected hub may have missed notices: the change log tells what they were.
      onListening: () => this.wake({ catchUp: true }),
    });
    this.pollTimer = setInterval(() => void this.pollVersion(), this.config.feed.pollSeconds * 1000);
    this.pollTimer.unref();
    this.digestTimer = setInterval(() => void this.compareDigest(), this.config.feed.digestSeconds * 1000);
    this.digestTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.digestTimer);
    clearTimeout(this.transitionTimer);
    clearTimeout(this.wakeTimer);
    this.unsubscribe?.();
    await this.working;
    // What changed since the last write is not left behind.
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.saving;
    if (this.saveWanted) {
      await this.save();
    }
  }

  /** Where what is served comes from, and how the copy on disk stands (for readiness). */
  source(): { from: 'database' | 'disk' | null; diskSavedAt: Date | null; lastWrittenAt: Date | null } {
    return {
      from: this.snapshot === undefined ? null : this.fromDisk ? 'disk' : 'database',
      diskSavedAt: this.fromDisk?.savedAt ?? null,
      lastWrittenAt: this.savedAt ?? null,
    };
  }

  /** The current snapshot; undefined only before the first successful load. */
  current(): Snapshot | undefined {
    return this.snapshot;
  }

  /** How the store has been following the database (for health and benchmarks). */
  statistics(): { version: string | null; fullLoads: number; appliedVersions: number; swaps: number; anomalies: number } {
    return { version: this.snapshot?.version.toString() ?? null, ...this.counters };
  }

  /** `observer` is told, once a batch of versions is served, when each of them was committed. */
  observeApplied(observer: (committedAt: readonly Date[]) => void): void {
    this.appliedObserver = observer;
  }

  /**
   * Follows the loaded exceptions: `onFull` at once with what is loaded (if
   * anything), then `onChange` with what each applied batch of versions added
   * and removed (and `onFull` again after a full load). Returns the function
   * that stops following.
   */
  subscribe(listener: EntryListener): () => void {
    this.listeners.add(listener);
    if (this.index) {
      listener.onFull([...this.index.entries()], this.version);
    }
    return () => this.listeners.delete(listener);
  }

  /**
   * A rendering of the current snapshot, ready to send. The JSON rendering is
   * built on the first request after a change (from the index's cached
   * blocks; signed off the event loop when large) and kept until the next.
   */
  async rendering(name: Rendering): Promise<PreparedBody> {
    for (;;) {
      const snapshot = this.snapshot;
      if (!snapshot) {
        throw new Error('the allowlist has not been loaded yet');
      }
      const ready = snapshot.renderings[name];
      if (ready) {
        return ready;
      }
      if (this.installedBuild !== this.builds) {
        // The index already moved past this snapshot: wait for the one that matches it.
        await this.pendingInstall;
        continue;
      }
      let building = this.jsonBuilds.get(snapshot);
      if (!building) {
        building = Promise.resolve(renderBody(this.index!, 'json', snapshot.version, snapshot.asOf, this.lastJson, this.signer)).then((json) => {
          snapshot.renderings.json = json;
          this.lastJson = json;
          // Its validators go to disk too (a restart during an outage then answers it without signing).
          if (snapshot === this.snapshot) {
            this.scheduleSave();
          }
          return json;
        });
        this.jsonBuilds.set(snapshot, building);
      }
      return building;
    }
  }

  /** Since when the snapshot may be out of date (the database could not be read), or null. */
  stale(): Date | null {
    return this.staleSince;
  }

  /** Reads the whole list again (and waits until it is in place). */
  async reload(): Promise<void> {
    this.wake({ full: true });
    await this.settled();
  }

  /** Looks at the database for versions not heard of yet (as the version poll does), and waits until they are applied. */
  async catchUp(): Promise<void> {
    this.wake({ catchUp: true });
    await this.settled();
  }

  /** Waits until every change heard of so far is applied. */
  async settled(): Promise<void> {
    while (this.working || this.wakeTimer) {
      await (this.working ?? sleep(5));
    }
  }

  /** Re-renders from memory for the instant now (a start or an expiry passed). */
  rerender(): void {
    if (!this.index) {
      return;
    }
    const now = this.clock.now();
    const floor = now < this.changedAt ? now : this.changedAt;
    const gone = this.index.purgeExpired(floor);
    if (gone.length > 0) {
      this.tell({ added: [], removed: gone });
    }
    try {
      void Promise.resolve(this.build(now)).then(
        () => this.scheduleSave(),
        (error: unknown) => this.rebuildAfter(error),
      );
    } catch (error) {
      this.rebuildAfter(error);
    }
  }

  /** A rebuild from memory failed (not the database): read the whole list again rather than serve a wrong one. */
  private rebuildAfter(error: unknown): void {
    if (databaseUnavailability(error) !== undefined) {
      // The generated signing key is still to be read (started during an outage): the last snapshot stays.
      this.markStale(error, 'cannot sign the allowlist yet; serving the last snapshot');
      this.wake({ full: true });
      return;
    }
    this.counters.anomalies++;
    this.logger.error({ err: error, anomaly: 'allowlist-render-failed' }, 'rendering the allowlist failed; reading the whole list');
    this.wake({ full: true });
  }

  private onNotice(payload: string): void {
    const notice = decodeChangeNotice(payload);
    if (notice?.states) {
      this.queue.push(notice);
      this.wake({});
    } else {
      this.wake({ catchUp: true });
    }
  }

  /** Asks for work: applied at once after a quiet spell, else at most one swap per coalescing interval. */
  private wake(want: { catchUp?: boolean; full?: boolean }): void {
    this.catchUpWanted ||= want.catchUp === true;
    this.fullLoadWanted ||= want.full === true;
    if (this.working || this.wakeTimer || this.stopped) {
      return; // the running loop (or the armed timer) takes it
    }
    const delay = Math.max(0, this.lastSwapAt + this.config.feed.coalesceMs - Date.now());
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.working = this.work().finally(() => {
        this.working = undefined;
      });
    }, delay);
    this.wakeTimer.unref();
  }

  private hasWork(): boolean {
    return this.fullLoadWanted || this.catchUpWanted || this.queue.length > 0;
  }

  private async work(): Promise<void> {
    while (this.hasWork() && !this.stopped) {
      try {
        if (this.fullLoadWanted || !this.index) {
          await this.fullLoad();
        } else {
          await this.applyPending();
        }
      } catch (error) {
        if (databaseUnavailability(error) || this.fullLoadWanted || !this.index) {
          // Nothing queued is lost: the change log holds it, and the version poll comes back for it.
          this.catchUpWanted = true;
          this.markStale(error, 'cannot follow the allowlist; serving the last snapshot');
          return;
        }
        // Not the database: memory can no longer be trusted to follow change by change. Read it all again.
        this.counters.anomalies++;
        this.logger.error({ err: error, anomaly: 'allowlist-apply-failed' }, 'applying allowlist changes failed; reading the whole list');
        this.fullLoadWanted = true;
      }
      if (this.hasWork()) {
        await sleep(Math.max(0, this.lastSwapAt + this.config.feed.coalesceMs - Date.now()));
      }
    }
  }

  private async fullLoad(): Promise<void> {
    this.fullLoadWanted = false;
    this.catchUpWanted = false;
    this.queue.length = 0;
    const now = this.clock.now();
    try {
      const { head, candidates } = await this.repository.load(now);
      this.index = new AllowlistIndex(candidates, now);
      this.version = head.version;
      this.changedAt = head.changedAt;
      this.counters.fullLoads++;
      this.listeners.forEach((listener) => listener.onFull(candidates, head.version));
      await this.build(now);
      this.fromDisk = undefined;
      this.recovered();
      this.scheduleSave();
    } catch (error) {
      this.markStale(error, 'cannot read the allowlist; serving the last snapshot');
      this.fullLoadWanted = this.index !== undefined; // still needed: tried again when the version poll finds the database
      throw error;
    }
  }

  /** Applies the queued notices, or what the change log holds after the version held. */
  private async applyPending(): Promise<void> {
    const notices = this.queue.splice(0).sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    let changes = notices.filter((notice) => notice.version > this.version);
    const contiguous = changes.every((notice, i) => notice.version === this.version + BigInt(i) + 1n);
    if (this.catchUpWanted || !contiguous) {
      this.catchUpWanted = false;
      const fromLog = await this.repository.changesSince(this.version);
      if (fromLog === null) {
        this.logger.warn({ version: this.version.toString() }, 'the change log no longer reaches back to the version held; reading the whole allowlist');
        await this.fullLoad();
        return;
      }
      changes = fromLog.changes;
      this.recovered();
    }
    if (changes.length === 0) {
      return;
    }
    const change = this.index!.apply(changes.flatMap((notice) => notice.states ?? []));
    const last = changes[changes.length - 1]!;
    this.version = last.version;
    this.changedAt = last.changedAt;
    this.counters.appliedVersions += changes.length;
    this.tell(change);
    try {
      await this.build(this.clock.now());
    } catch (error) {
      // Memory holds this version but nothing serves it (for instance a signing key still to be read from the
      // database): the change log has nothing newer to give, so only a full load brings the two together again.
      this.fullLoadWanted = true;
      throw error;
    }
    this.scheduleSave();
    this.appliedObserver?.(changes.map((notice) => notice.changedAt));
  }

  private tell(change: CandidateChange): void {
    if (change.added.length === 0 && change.removed.length === 0) {
      return;
    }
    this.listeners.forEach((listener) => listener.onChange({ version: this.version, ...change }));
  }

  /** Renders and installs (small lists at once; large ones once their signatures are made off the event loop). */
  private build(now: Date): Promise<void> | void {
    const made = renderSnapshot(this.index!, this.version, this.changedAt, now, this.built, this.signer);
    // Counted once rendered: a build that threw never leaves the JSON-on-demand path waiting for it.
    const build = ++this.builds;
    if (made instanceof Promise) {
      this.pendingInstall = made.then((snapshot) => this.install(snapshot, build));
      return this.pendingInstall;
    }
    this.install(made, build);
  }

  private install(snapshot: Snapshot, build: number): void {
    this.built = snapshot;
    if (build < this.installedBuild) {
      return; // a later build got there first
    }
    this.installedBuild = build;
    this.snapshot = snapshot;
    this.lastSwapAt = Date.now();
    this.counters.swaps++;
    clearTimeout(this.transitionTimer);
    if (snapshot.nextTransition && !this.stopped) {
      const delay = Math.min(Math.max(snapshot.nextTransition.getTime() - this.clock.now().getTime(), 0), MAX_TIMER_MS);
      this.transitionTimer = setTimeout(() => this.rerender(), delay);
      this.transitionTimer.unref();
    }
  }

  /**
   * Reads the snapshot kept on disk and serves it: the renderings are built
   * from its entries again, and each one equal to what was written keeps its
   * Last-Modified and signature. A file refused (damaged, foreign, another
   * format) is an anomaly and is never served.
   */
  private async loadFromDisk(): Promise<void> {
    let saved: SavedSnapshot | undefined;
    try {
      saved = await this.file.read();
    } catch (error) {
      this.counters.anomalies++;
      const refused = error instanceof CheckedFileError;
      this.logger.error(
        { anomaly: 'allowlist-snapshot-refused', path: this.file.path, err: refused ? error.message : error },
        'the allowlist snapshot on disk was refused; the feed answers 503 until the database can be read',
      );
      return;
    }
    if (saved === undefined) {
      this.logger.warn({ path: this.file.path }, 'no allowlist snapshot on disk; the feed answers 503 until the database can be read');
      return;
    }
    const now = this.clock.now();
    let publicKey: string | undefined;
    try {
      publicKey = this.signer.publicKey.base64;
    } catch {
      publicKey = undefined; // the generated key is in the database: the signatures written are the ones it made
    }
    // Signed by another key than this process's: sign again rather than serve them.
    const keep = publicKey === undefined || publicKey === saved.publicKey;
    const renderings = {} as Snapshot['renderings'];
    for (const name of RENDERINGS) {
      const validators = saved.validators[name];
      if (validators !== undefined) {
        renderings[name] = {
          body: Buffer.alloc(0),
          gzip: Buffer.alloc(0),
          etag: validators.etag,
          lastModified: validators.lastModified,
          lastModifiedHttp: validators.lastModified.toUTCString(),
          contentType: CONTENT_TYPES[name],
          signature: keep ? validators.signature : Buffer.alloc(0),
        };
      }
    }
    try {
      this.index = new AllowlistIndex(saved.entries, now);
      this.version = saved.version;
      this.changedAt = saved.changedAt;
      this.built = { version: saved.version, changedAt: saved.changedAt, asOf: saved.changedAt, renderings, nextTransition: null };
      this.lastJson = renderings.json;
      await this.build(now);
    } catch (error) {
      this.index = undefined;
      this.version = -1n;
      this.logger.error(
        { err: error, path: this.file.path },
        'the allowlist snapshot on disk could not be rendered again (an exception started or expired since, and the signing key is in the database); the feed answers 503 until the database can be read',
      );
      return;
    }
    this.fromDisk = { savedAt: saved.savedAt };
    this.staleSince = saved.savedAt;
    this.listeners.forEach((listener) => listener.onFull([...this.index!.entries()], this.version));
    this.logger.warn(
      { path: this.file.path, version: saved.version.toString(), entries: saved.entries.length, savedAt: saved.savedAt.toISOString() },
      'the database cannot be reached: serving the allowlist snapshot kept on disk, stale since it was written',
    );
  }

  /** Asks for the current snapshot to be written: soon, but at most once every SNAPSHOT_WRITE_SECONDS. */
  private scheduleSave(): void {
    if (this.file.path === null || this.stopped) {
      return;
    }
    this.saveWanted = true;
    if (this.saveTimer || this.saving) {
      return; // the armed write (or the one running, which looks again when done) takes it
    }
    const delay = Math.max(this.config.feed.coalesceMs, this.lastSaveAt + this.config.snapshot.writeSeconds * 1000 - Date.now());
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saving = this.save().finally(() => {
        this.saving = undefined;
        if (this.saveWanted) {
          this.scheduleSave();
        }
      });
    }, delay);
    this.saveTimer.unref();
  }

  /** Writes what is served now, if it came from the database and its signatures are made. */
  private async save(): Promise<void> {
    const snapshot = this.snapshot;
    if (!snapshot || !this.index || this.fromDisk || this.staleSince || this.installedBuild !== this.builds) {
      return; // stale or half-built: the last good copy stays; a later install asks again
    }
    this.saveWanted = false;
    this.lastSaveAt = Date.now();
    const validators: SavedSnapshot['validators'] = {};
    for (const name of RENDERINGS) {
      const prepared = snapshot.renderings[name];
      if (prepared !== undefined) {
        validators[name] = { etag: prepared.etag, lastModified: prepared.lastModified, signature: prepared.signature };
      }
    }
    let publicKey: string | null;
    try {
      publicKey = this.signer.publicKey.base64;
    } catch {
      publicKey = null;
    }
    const savedAt = this.clock.now();
    try {
      await this.file.write({
        version: snapshot.version,
        changedAt: snapshot.changedAt,
        savedAt,
        publicKey,
        validators,
        entries: [...this.index.entries()],
      });
      this.savedAt = savedAt;
    } catch (error) {
      this.logger.warn({ err: error, path: this.file.path }, 'could not write the allowlist snapshot to disk');
    }
  }

  private markStale(error: unknown, message: string): void {
    if (!this.staleSince) {
      this.staleSince = this.clock.now();
      this.logger.error({ err: error }, message);
    }
  }

  private recovered(): void {
    if (this.staleSince) {
      this.logger.log('database reachable again; the allowlist is current');
    }
    this.staleSince = null;
  }

  private async pollVersion(): Promise<void> {
    try {
      const head = await this.repository.head();
      if (this.staleSince || head.version !== this.version) {
        this.wake({ catchUp: true });
      }
    } catch (error) {
      this.markStale(error, 'cannot read the allowlist version; serving the last snapshot');
    }
  }

  /**
   * Compares a digest of memory with one computed by the database at the same
   * version; a difference means a change was applied wrongly or missed
   * without a trace — logged as an anomaly, and the whole list is read again.
   */
  async compareDigest(): Promise<boolean> {
    if (!this.index || this.working || this.hasWork()) {
      return true;
    }
    try {
      const now = this.clock.now();
      const remote = await this.repository.digest(now);
      const version = this.version;
      if (remote.version !== version) {
        return true; // moving: compare another time
      }
      const local = await localDigest(this.index.entries(), now, () => this.version !== version);
      if (local === undefined || this.version !== version) {
        return true;
      }
      if (local.count === remote.count && local.sum === remote.sum) {
        return true;
      }
      this.counters.anomalies++;
      this.logger.warn(
        { anomaly: 'allowlist-drift', version: version.toString(), memory: { count: local.count }, database: { count: remote.count } },
        'the allowlist in memory differs from the database at the same version; reading the whole list again',
      );
      this.wake({ full: true });
      return false;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not compare the allowlist digest');
      return true;
    }
  }
}
