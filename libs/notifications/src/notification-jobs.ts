import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import type { PgBoss, WorkHandler } from 'pg-boss';
import { NotificationHub } from '@app/database';
import { Clock } from '@app/domain';
import { NotificationDeliveryService } from './notification-delivery.service.js';
import { NOTIFICATIONS_CHANNEL } from './outbox.repository.js';

/** The queue of delivery rounds: dispatch new events, attempt due deliveries. */
export const NOTIFICATIONS_QUEUE = 'helopass-notifications';
/** A retry due sooner than the next scheduled round is woken for; later ones wait for the schedule. */
const WAKE_WITHIN_MS = 60_000;

export interface NotificationJobs {
  /** Queues a delivery round now. */
  runNow(): Promise<void>;
  stop(): void;
}

/**
 * Puts delivery on the worker's job queue (pg-boss): a round every minute,
 * one as soon as an event or a replay commits (the outbox trigger NOTIFYs),
 * and one when the next retry falls due before the next minute. The queue
 * is `stately` (at most one round queued and one running, whichever replica
 * runs it), and deliveries are claimed with SKIP LOCKED besides.
 */
export async function startNotificationJobs(
  boss: PgBoss,
  app: INestApplicationContext,
  logger: LoggerService,
  queue: {
    pollingIntervalSeconds: number;
    /** Creates the queue with the worker's options (stately, heartbeat). */
    ensureQueue(name: string): Promise<void>;
  },
  /** Wraps the round's handler (the worker counts runs by result for its metrics). */
  counted: <T>(queue: string, handler: WorkHandler<T>) => WorkHandler<T> = (_queue, handler) => handler,
): Promise<NotificationJobs> {
  const { pollingIntervalSeconds } = queue;
  const delivery = app.get(NotificationDeliveryService);
  const clock = app.get(Clock);
  const hub = app.get(NotificationHub);
  let wake: NodeJS.Timeout | undefined;
  let stopped = false;
  const runNow = async () => {
    if (!stopped) {
      await boss.send(NOTIFICATIONS_QUEUE, {});
    }
  };
  const queueRound = () => void runNow().catch((error: unknown) => logger.error({ err: error }, 'could not queue a notification round'));

  await queue.ensureQueue(NOTIFICATIONS_QUEUE);
  await boss.schedule(NOTIFICATIONS_QUEUE, '* * * * *');
  await boss.work(NOTIFICATIONS_QUEUE, { pollingIntervalSeconds }, counted(NOTIFICATIONS_QUEUE, async () => {
    const report = await delivery.runOnce();
    if (report.dispatched + report.delivered + report.retrying + report.failed > 0) {
      logger.log({ ...report }, 'notification round done');
    }
    clearTimeout(wake);
    const dueInMs = report.nextDueAt === null ? Infinity : report.nextDueAt.getTime() - clock.now().getTime();
    if (!stopped && dueInMs < WAKE_WITHIN_MS) {
      wake = setTimeout(queueRound, Math.max(dueInMs, 250));
      wake.unref();
    }
  }));
  // Catching up on what was missed while no connection listened is the next round's job.
  const unsubscribe = hub.subscribe(NOTIFICATIONS_CHANNEL, { onNotification: queueRound, onListening: queueRound });
  return {
    runNow,
    stop: () => {
      stopped = true;
      clearTimeout(wake);
      unsubscribe();
    },
  };
}
