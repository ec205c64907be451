import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { connectionOptions } from './connection-options.js';

/** What a subscriber is told. */
export interface ChannelListener {
  /** A NOTIFY on the channel, with its payload (possibly empty). */
  onNotification(payload: string): void;
  /**
   * LISTEN is (again) in place on a fresh connection. Anything sent while no
   * connection listened was missed: the subscriber catches up by itself
   * (reads what it follows from the database).
   */
  onListening?(): void;
}

export interface HubHealth {
  /** `listening`: connected, every channel subscribed; `connecting`: (re)connecting; `idle`: nothing to listen to. */
  status: 'listening' | 'connecting' | 'idle';
  /** Since when the status holds. */
  since: Date;
  channels: string[];
  /** Connections lost and opened again since start. */
  reconnects: number;
  /** Why the last connection failed or ended (no secrets: a message only), or null. */
  lastError: string | null;
  /** The server process of the listening connection (pg_backend_pid), while listening. */
  backendPid: number | null;
}

/** The application_name of the hub's connection, so an operator (or a test) can find it in pg_stat_activity. */
export const NOTIFICATION_HUB_APPLICATION_NAME = 'helopass-notifications';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The process's one PostgreSQL connection for LISTEN: every channel a process
 * follows (API keys changing, allowlist changes) shares it. It connects when
 * the first channel is subscribed, re-opens a lost connection with backoff
 * (100 ms, doubling, at most 5 s apart), LISTENs again on every channel, and
 * then tells each subscriber to catch up on what it may have missed.
 * NOTIFY is delivered only while a connection listens; `isListening()` lets a
 * cache trust its memory only meanwhile.
 */
@Injectable()
export class NotificationHub implements OnModuleDestroy {
  private readonly logger = new Logger(NotificationHub.name);
  private readonly listeners = new Map<string, Set<ChannelListener>>();
  private client: pg.Client | undefined;
  private listening = false;
  private status: HubHealth['status'] = 'idle';
  private since = new Date();
  private reconnects = 0;
  private lastError: string | null = null;
  private backendPid: number | null = null;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private stopped = false;
  private everListened = false;

  constructor(@Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig) {}

  /** Follows `channel`; the returned function stops following it. */
  subscribe(channel: string, listener: ChannelListener): () => void {
    if (!CHANNEL.test(channel)) {
      throw new Error(`not a channel name: ${channel}`);
    }
    let set = this.listeners.get(channel);
    const fresh = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    if (this.listening && fresh) {
      void this.client
        ?.query(`LISTEN ${channel}`)
        .then(() => listener.onListening?.())
        .catch((error: Error) => this.lost(error));
    } else if (this.listening) {
      queueMicrotask(() => listener.onListening?.());
    } else {
      this.ensureConnecting();
    }
    return () => {
      set.delete(listener);
    };
  }

  /** Whether a NOTIFY on `channel` sent now would reach this process. */
  isListening(channel: string): boolean {
    return this.listening && this.listeners.has(channel);
  }

  health(): HubHealth {
    return {
      status: this.status,
      since: this.since,
      channels: [...this.listeners.keys()],
      reconnects: this.reconnects,
      lastError: this.lastError,
      backendPid: this.listening ? this.backendPid : null,
    };
  }

  /**
   * Resolves once the connection attempt under way (if any) has settled:
   * listening, or failed (then retried in the background). Start-up waits
   * for this, so that a process that can reach the database hears changes
   * from its first request on, and one that cannot is not held up.
   */
  async settled(): Promise<boolean> {
    await this.connecting?.catch(() => undefined);
    return this.listening;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    await this.connecting?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  private setStatus(status: HubHealth['status']): void {
    if (status !== this.status) {
      this.status = status;
      this.since = new Date();
    }
  }

  private ensureConnecting(): void {
    if (this.stopped || this.client !== undefined || this.retryTimer !== undefined || this.config.databaseUrl === undefined) {
      return;
    }
    this.setStatus('connecting');
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      ...connectionOptions(this.config.databaseUrl, this.config.database),
      // LISTEN waits for nothing: no statement limit beyond the subscribing itself.
      application_name: NOTIFICATION_HUB_APPLICATION_NAME,
    });
    this.client = client;
    client.on('notification', (message) => {
      for (const listener of this.listeners.get(message.channel) ?? []) {
        try {
          listener.onNotification(message.payload ?? '');
        } catch (error) {
          this.logger.error({ err: error, channel: message.channel }, 'a notification listener failed');
        }
      }
    });
    client.on('error', (error) => this.lost(error, client));
    client.on('end', () => this.lost(new Error('connection ended'), client));
    try {
      await client.connect();
      const [row] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      for (const channel of this.listeners.keys()) {
        await client.query(`LISTEN ${channel}`);
      }
      if (this.client !== client || this.stopped) {
        return;
      }
      this.backendPid = row?.pid ?? null;
      this.listening = true;
      this.retryMs = FIRST_RETRY_MS;
      this.setStatus('listening');
      if (this.everListened) {
        this.logger.log({ reconnects: this.reconnects }, 'listening for changes again');
      }
      this.everListened = true;
      for (const set of this.listeners.values()) {
        for (const listener of set) {
          listener.onListening?.();
        }
      }
    } catch (error) {
      this.lost(error as Error, client);
    }
  }

  /** The connection failed or ended: forget it and try again after the backoff. */
  private lost(error: Error, client = this.client): void {
    if (client === undefined || client !== this.client) {
      return;
    }
    const wasListening = this.listening;
    this.client = undefined;
    this.listening = false;
    this.backendPid = null;
    this.lastError = error.message;
    void client.end().catch(() => undefined);
    if (this.stopped) {
      return;
    }
    if (wasListening) {
      this.reconnects += 1;
      this.logger.warn({ err: error.message }, 'lost the connection that listens for changes; reconnecting');
    }
    this.setStatus('connecting');
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.ensureConnecting();
    }, delay);
    this.retryTimer.unref();
  }
}
