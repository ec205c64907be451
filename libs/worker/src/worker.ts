import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { PgBoss, type WorkHandler } from 'pg-boss';
import type { HeloPassConfig } from '@app/config';
import { Clock } from '@app/domain';
import { AuditCheckpointService, jobQueueSchemaExists, JOB_QUEUE_SCHEMA } from '@app/database';
import { AllowlistHistory } from '@app/enforcement';
import { HeloPassMetrics, MetricsEndpoint } from '@app/metrics';
import { BlocklistScreening, ExceptionChecksService, ExceptionDecisionsService, SelfHealingService, warnWhenBlocklistsAreOff } from '@app/exceptions';
import { NotificationDeliveryService, RemindersService, startNotificationJobs, type NotificationJobs } from '@app/notifications';
import { DomainsService, OwnershipService } from '@app/ownership';
import { ensureJobQueue, jobQueueIntervals } from './job-queues.js';
import { RetentionService } from './retention.service.js';
import { WorkerModule } from './worker.module.js';

/** The queue of the periodic sweep: exception expiries, due domain checks, stale ownership evidence, due blocklist and HELO (self-healing) checks, then reminders. */
export const SWEEP_QUEUE = 'helopass-sweep';
/**
 * Signed audit checkpoints at AUDIT_CHECKPOINT_INTERVAL_MINUTES, and snapshots of
 * the allowlist's history at AUDIT_STATE_SNAPSHOT_INTERVAL_MINUTES (looked at every minute).
 */
export const CHECKPOINT_QUEUE = 'helopass-audit-checkpoint';
/** The queue of the retention purge: idempotency records and domain checks past their retention. */
export const RETENTION_QUEUE = 'helopass-retention';

export interface WorkerOptions {
  readonly clock?: Clock;
  readonly logStream?: NodeJS.WritableStream;
  /** How often an idle worker asks the queue for work (pg-boss polling), in seconds. */
  readonly pollingIntervalSeconds?: number;
}

export interface RunningWorker {
  /** Queues a sweep now instead of waiting for the next minute. */
  sweepNow(): Promise<void>;
  /** Queues a retention purge now instead of waiting for the next ten minutes. */
  purgeNow(): Promise<void>;
  /** Queues a notification round (dispatch events, attempt due deliveries) now. */
  notifyNow(): Promise<void>;
  /** Where its Prometheus metrics are served (WORKER_METRICS_PORT), or undefined when nowhere. */
  readonly metricsPort: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the worker: scheduled work runs through pg-boss, a job queue kept in
 * PostgreSQL, so that any number of worker replicas run each sweep once (the
 * queue is `stately`: at most one sweep queued and one running).
 */
export async function startWorker(config: HeloPassConfig, options: WorkerOptions = {}): Promise<RunningWorker> {
  if (config.databaseUrl === undefined) {
    throw new Error('the worker needs DATABASE_URL resolved first');
  }
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, options.clock, options.logStream), {
    bufferLogs: true,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  warnWhenBlocklistsAreOff(app.get(BlocklistScreening), logger);
  const domains = app.get(DomainsService);
  const ownership = app.get(OwnershipService);
  const exceptions = app.get(ExceptionDecisionsService);
  const exceptionChecks = app.get(ExceptionChecksService);
  const selfHealing = app.get(SelfHealingService);
  const retention = app.get(RetentionService);
  const reminders = app.get(RemindersService);
  const notificationLog = app.get(NotificationDeliveryService);
  const checkpoints = app.get(AuditCheckpointService);
  const history = app.get(AllowlistHistory);
  const clock = app.get(Clock);
  let notifications: NotificationJobs | undefined;

  const boss = new PgBoss({
    connectionString: config.databaseUrl,
    schema: JOB_QUEUE_SCHEMA,
    max: 4,
    ...jobQueueIntervals(config.jobHeartbeatSeconds),
    createSchema: !(await jobQueueSchemaExists(config.databaseUrl)),
  });
  const metrics = app.get(HeloPassMetrics);
  metrics.watchJobQueues(async () =>
    (await boss.getQueues()).map((queue) => ({ queue: queue.name, queued: queue.queuedCount, active: queue.activeCount, failed: queue.failedCount })),
  );
  /** The handler, its runs counted by result (a failure is retried by the queue, and counted each time). */
  const counted = <T>(queue: string, handler: WorkHandler<T>): WorkHandler<T> => async (jobs) => {
    try {
      await handler(jobs);
      metrics.jobs.inc({ queue, result: 'completed' });
    } catch (error) {
      metrics.jobs.inc({ queue, result: 'failed' });
      throw error;
    }
  };
  let stopping = false;
  boss.on('error', (error: Error) => {
    // While stopping, a connection the queue is closing (or the server is ending) is expected, not a fault.
    if (stopping && isConnectionEnding(error)) {
      logger.debug({ err: error }, 'job queue connection closed while stopping');
      return;
    }
    logger.error({ err: error }, 'job queue error');
  });
  try {
    await boss.start();
    await ensureJobQueue(boss, SWEEP_QUEUE, config.jobHeartbeatSeconds);
    await boss.schedule(SWEEP_QUEUE, '* * * * *');
    await boss.work(SWEEP_QUEUE, { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 }, counted(SWEEP_QUEUE, async () => {
      const expired = await exceptions.expireDue();
      const checked = await domains.runDue();
      const refreshed = await ownership.refreshDue();
      const screened = await exceptionChecks.recheckDue();
      // HELO names that pass by themselves now: marked, and revoked after the grace.
      const healed = await selfHealing.checkDue();
      // Reminders last: what this sweep expired or lapsed is not reminded of.
      const reminded = await reminders.produceDue();
      const announced = reminded.expiring + reminded.approvalWaiting + reminded.overrideWaiting + reminded.stale;
      if (expired + checked + refreshed + screened + healed + announced > 0) {
        logger.log({ expired, checked, refreshed, screened, healed, reminded }, 'sweep done');
      }
    }));
    await ensureJobQueue(boss, CHECKPOINT_QUEUE, config.jobHeartbeatSeconds);
    await boss.schedule(CHECKPOINT_QUEUE, '* * * * *');
    await boss.work(CHECKPOINT_QUEUE, { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 }, counted(CHECKPOINT_QUEUE, async () => {
      // A chain that does not verify is never signed: say so loudly, every time it is due.
      try {
        const checkpoint = await checkpoints.createIfDue();
        if (checkpoint !== null) {
          logger.log({ count: checkpoint.count, lastHash: checkpoint.lastHash }, 'audit checkpoint signed');
        }
      } catch (error) {
        logger.error({ err: error }, 'audit checkpoint not signed');
      }
      // Without snapshots ?asOf= still answers (from the whole trail), only slower: a failure is logged, not fatal.
      try {
        const snapshot = await history.snapshotIfDue(clock.now(), config.audit.stateSnapshotIntervalMinutes * 60_000);
        if (snapshot !== null) {
          logger.log({ cutAt: snapshot.cutAt.toISOString(), entries: snapshot.entries }, 'allowlist history snapshot recorded');
        }
      } catch (error) {
        logger.error({ err: error }, 'allowlist history snapshot not recorded');
      }
    }));
    await ensureJobQueue(boss, RETENTION_QUEUE, config.jobHeartbeatSeconds);
    await boss.schedule(RETENTION_QUEUE, '*/10 * * * *');
    await boss.work(RETENTION_QUEUE, { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 }, counted(RETENTION_QUEUE, async () => {
      const purged = { ...(await retention.purge()), notificationEvents: await notificationLog.purgeLog() };
      if (purged.idempotencyRecords + purged.domainChecks + purged.notificationEvents > 0) {
        logger.log(purged, 'retention purge done');
      }
    }));
    notifications = await startNotificationJobs(boss, app, logger, {
      pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2,
      ensureQueue: (name) => ensureJobQueue(boss, name, config.jobHeartbeatSeconds),
    }, counted);
  } catch (error) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    await app.close();
    throw error;
  }
  logger.log('worker started');
  return {
    sweepNow: async () => {
      await boss.send(SWEEP_QUEUE, {});
    },
    purgeNow: async () => {
      await boss.send(RETENTION_QUEUE, {});
    },
    notifyNow: async () => {
      await notifications?.runNow();
    },
    metricsPort: app.get(MetricsEndpoint).port,
    stop: async () => {
      stopping = true;
      notifications?.stop();
      await boss.stop({ graceful: true, timeout: 10_000 });
      await app.close();
    },
  };
}

/** 57P01 admin_shutdown ("terminating connection due to administrator command"), or a socket closed under a query. */
function isConnectionEnding(error: Error): boolean {
  return (error as { code?: unknown }).code === '57P01' || /Connection terminated/i.test(error.message);
}
