import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { auditEventHash, GENESIS_HASH } from '@app/domain';
import { PrismaService } from './prisma.service.js';

// The one critical section of the chain: taken only to link a batch of committed events.
const CHAIN_LOCK = 72_0402_2;
const BATCH = 500;
/** A safety net for events whose process stopped before chaining them (the normal path is right after commit). */
const SWEEP_MS = 5_000;
/**
 * How long after an append the chain is extended: events that commit within
 * it are linked in one batch (one short transaction for many writers).
 */
const COALESCE_MS = 25;
/** How long appended events are waited for (their transaction may still be open, or may roll back). */
const AWAIT_MS = 60_000;

export interface ChainHead {
  position: number;
  hash: string;
  eventId: string | null;
}

/**
 * Links committed audit events into the hash chain, in the order they
 * committed. Writers add events without any lock; this runs right after
 * (AuditLog.append asks it to) in a short transaction of its own: lock, read
 * the head and the queued events, insert their links, drop them from the
 * queue. Several processes may run it: the lock makes them take turns, and
 * one batch links every event that committed before it.
 */
@Injectable()
export class AuditChainService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('AuditChain');
  private running: Promise<number> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private awaitingSince: number | undefined;
  private stopped = false;
  /** Off only for measuring what the chain costs (the benchmark's baseline). */
  enabled = true;

  constructor(private readonly prisma: PrismaService) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => this.soon(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Before the database client closes: what this process appended is linked now (a command line ends right after its write). */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweeper);
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.enabled && this.awaitingSince !== undefined) {
      await this.chainPending().catch(() => undefined);
    }
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  /** An event was appended in a transaction that is about to commit: chain it shortly after. */
  appended(): void {
    this.awaitingSince ??= Date.now();
    this.soon(COALESCE_MS);
  }

  private soon(delayMs = COALESCE_MS): void {
    if (this.stopped || !this.enabled || this.timer !== undefined) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.chainPending()
        .then((linked) => {
          // The transaction that asked may not have committed yet: look again a little later.
          if (this.awaitingSince !== undefined) {
            if (linked > 0 || Date.now() - this.awaitingSince > AWAIT_MS) {
              this.awaitingSince = undefined;
            } else {
              this.soon();
            }
          }
        })
        .catch((error: unknown) => {
          if (this.stopped) {
            return;
          }
          this.logger.warn(`audit events not chained yet (retried): ${error instanceof Error ? error.message : String(error)}`);
          this.soon(1000);
        });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Links every committed, unlinked event; answers how many. Calls made while
   * one runs are folded into one more run after it.
   */
  chainPending(): Promise<number> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running.then(() => this.chainPending());
    }
    const run = (async () => {
      let total = 0;
      do {
        this.again = false;
        for (;;) {
          const linked = await this.linkBatch();
          total += linked;
          if (linked < BATCH) {
            break;
          }
        }
      } while (this.again);
      return total;
    })();
    this.running = run;
    return run.finally(() => {
      this.running = undefined;
    });
  }

  private linkBatch(): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
      const queued = await tx.auditUnchained.findMany({ orderBy: { seq: 'asc' }, take: BATCH, select: { eventId: true } });
      if (queued.length === 0) {
        return 0;
      }
      const head = await tx.auditChainLink.findFirst({ orderBy: { position: 'desc' }, select: { position: true, hash: true } });
      const queuedIds = queued.map((row) => row.eventId);
      // Never link an event twice, whatever the queue says.
      const linked = new Set(
        (await tx.auditChainLink.findMany({ where: { eventId: { in: queuedIds } }, select: { eventId: true } })).map((link) => link.eventId),
      );
      const ids = queuedIds.filter((id) => !linked.has(id));
      const events = new Map((await tx.auditEvent.findMany({ where: { id: { in: ids } } })).map((event) => [event.id, event]));
      let position = head?.position ?? 0n;
      let prevHash = head?.hash ?? GENESIS_HASH;
      const links: { position: bigint; eventId: string; prevHash: string; hash: string }[] = [];
      for (const id of ids) {
        const event = events.get(id);
        if (event === undefined) {
          continue;
        }
        position += 1n;
        const hash = auditEventHash(prevHash, event);
        links.push({ position, eventId: id, prevHash, hash });
        prevHash = hash;
      }
      await tx.auditChainLink.createMany({ data: links });
      await tx.auditUnchained.deleteMany({ where: { eventId: { in: queuedIds } } });
      return links.length;
    });
  }

  /** The last link (position 0 and the genesis hash for an empty chain). */
  async head(): Promise<ChainHead> {
    const last = await this.prisma.auditChainLink.findFirst({ orderBy: { position: 'desc' } });
    return last === null
      ? { position: 0, hash: GENESIS_HASH, eventId: null }
      : { position: Number(last.position), hash: last.hash, eventId: last.eventId };
  }
}
