import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';

/** The channel every process's worker listens on: an event or a replay is waiting. */
export const NOTIFICATIONS_CHANNEL = 'helopass_notifications';

/** A delivery claimed for one attempt, with what the attempt needs. */
export interface ClaimedDelivery {
  id: string;
  channel: 'webhook' | 'email';
  attemptCount: number;
  eventId: string;
  eventType: string;
  occurredAt: Date;
  data: Record<string, unknown>;
  subscription: { id: string; url: string; secretSealed: string; secretKeyId: string; deleted: boolean } | null;
  recipients: string[];
}

/** An event the worker produces as time passes; `occasionKey` makes it once only. */
export interface TimedEvent {
  type: string;
  organizationId: string | null;
  occurredAt: Date;
  data: Record<string, unknown>;
  occasionKey: string;
}

export interface AttemptRow {
  attemptedAt: Date;
  durationMs: number;
  outcome: 'delivered' | 'failed' | 'refused';
  statusCode: number | null;
  error: string | null;
  target: string | null;
}

export interface DeliveryOutcome {
  status: 'pending' | 'succeeded' | 'failed';
  nextAttemptAt: Date | null;
  lastError: string | null;
  completedAt: Date | null;
}

/** The only place that touches Prisma for the outbox, deliveries and attempts. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Hands undispatched events to the live subscriptions that want them (by
   * type and organization) and, for the types e-mailed, to the technical
   * contacts of their organization — one statement, so an event is handed
   * out exactly once even with several workers (SKIP LOCKED).
   */
  async dispatch(now: Date, emailTypes: readonly string[], limit: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      WITH batch AS (
        SELECT id, type, organization_id FROM notification_events
        WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      ), webhooks AS (
        INSERT INTO notification_deliveries (event_id, channel, subscription_id, next_attempt_at, created_at)
        SELECT b.id, 'webhook', s.id, ${now}, ${now} FROM batch b
        JOIN webhook_subscriptions s ON s.deleted_at IS NULL AND b.type = ANY (s.events)
         AND (s.organization_id IS NULL OR s.organization_id = b.organization_id)
        ON CONFLICT DO NOTHING RETURNING 1
      ), emails AS (
        INSERT INTO notification_deliveries (event_id, channel, recipients, next_attempt_at, created_at)
        SELECT b.id, 'email', o.technical_contacts, ${now}, ${now} FROM batch b
        JOIN organizations o ON o.id = b.organization_id
        WHERE b.type = ANY (${[...emailTypes]}::text[]) AND cardinality(o.technical_contacts) > 0
        ON CONFLICT DO NOTHING RETURNING 1
      )
      UPDATE notification_events e SET dispatched_at = ${now} FROM batch b WHERE e.id = b.id
      RETURNING e.id`;
    return rows.length;
  }

  /** Claims due deliveries until `leaseUntil` (another worker takes them over only after that). */
  async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
    const claimed = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE notification_deliveries SET claimed_until = ${leaseUntil}
      WHERE id IN (
        SELECT id FROM notification_deliveries
        WHERE status = 'pending' AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until <= ${now})
        ORDER BY next_attempt_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    if (claimed.length === 0) {
      return [];
    }
    const rows = await this.prisma.notificationDelivery.findMany({
      where: { id: { in: claimed.map((row) => row.id) } },
      include: { event: true, subscription: true },
      orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((row) => ({
      id: row.id,
      channel: row.channel === 'email' ? 'email' : 'webhook',
      attemptCount: row.attemptCount,
      eventId: row.eventId,
      eventType: row.event.type,
      occurredAt: row.event.occurredAt,
      data: row.event.data as Record<string, unknown>,
      subscription:
        row.subscription === null
          ? null
          : {
              id: row.subscription.id,
              url: row.subscription.url,
              secretSealed: row.subscription.secretSealed,
              secretKeyId: row.subscription.secretKeyId,
              deleted: row.subscription.deletedAt !== null,
            },
      recipients: row.recipients,
    }));
  }

  /** Logs one attempt and moves the delivery on; a delivery cancelled meanwhile stays cancelled. */
  async record(deliveryId: string, attempt: AttemptRow, outcome: DeliveryOutcome): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.notificationAttempt.create({ data: { deliveryId, ...attempt } }),
      this.prisma.notificationDelivery.updateMany({
        where: { id: deliveryId, status: 'pending' },
        data: { ...outcome, attemptCount: { increment: 1 }, claimedUntil: null },
      }),
      this.prisma.notificationDelivery.updateMany({
        where: { id: deliveryId, status: { not: 'pending' }, claimedUntil: { not: null } },
        data: { attemptCount: { increment: 1 }, claimedUntil: null },
      }),
    ]);
  }

  /** Closes a delivery without an attempt (its subscription was deleted). */
  async cancel(deliveryId: string, at: Date, reason: string): Promise<void> {
    await this.prisma.notificationDelivery.updateMany({
      where: { id: deliveryId, status: 'pending' },
      data: { status: 'cancelled', completedAt: at, nextAttemptAt: null, claimedUntil: null, lastError: reason },
    });
  }

  /** When the next pending delivery is due (null: none), so the worker can wake for it. */
  async nextDueAt(): Promise<Date | null> {
    const next = await this.prisma.notificationDelivery.findFirst({
      where: { status: 'pending' },
      orderBy: { nextAttemptAt: 'asc' },
      select: { nextAttemptAt: true },
    });
    return next?.nextAttemptAt ?? null;
  }

  /** Adds a timed event unless its occasion was announced already; true when added. The worker is told at commit. */
  async addTimed(tx: Transaction, event: TimedEvent): Promise<boolean> {
    const added = await tx.$queryRaw<{ id: string }[]>`
      INSERT INTO notification_events (type, organization_id, occurred_at, data, occasion_key)
      VALUES (${event.type}, ${event.organizationId}::uuid, ${event.occurredAt}, ${JSON.stringify(event.data)}::jsonb, ${event.occasionKey})
      ON CONFLICT (occasion_key) DO NOTHING RETURNING id`;
    if (added.length > 0) {
      await tx.$executeRaw`SELECT pg_notify(${NOTIFICATIONS_CHANNEL}, '')`;
    }
    return added.length > 0;
  }

  /** Whether these occasions were announced already (the sweep skips them without a write). */
  async announced(keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) {
      return new Set();
    }
    const rows = await this.prisma.notificationEvent.findMany({ where: { occasionKey: { in: keys } }, select: { occasionKey: true } });
    return new Set(rows.map((row) => row.occasionKey!));
  }

  /** Deletes dispatched events older than `before` whose deliveries are all over (their deliveries and attempts with them). */
  async purge(before: Date, limit: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      DELETE FROM notification_events WHERE id IN (
        SELECT e.id FROM notification_events e
        WHERE e.occurred_at < ${before} AND e.dispatched_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
        ORDER BY e.occurred_at LIMIT ${limit})
      RETURNING id`;
    return rows.length;
  }
}
