import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService, type Transaction } from '@app/database';
import { NOTIFICATIONS_CHANNEL } from './outbox.repository.js';

export interface SubscriptionRecord {
  id: string;
  url: string;
  events: string[];
  organizationId: string | null;
  secretSealed: string;
  secretKeyId: string;
  createdByOwner: string | null;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface AttemptRecord {
  attemptedAt: Date;
  durationMs: number;
  outcome: string;
  statusCode: number | null;
  error: string | null;
  target: string | null;
}

export interface DeliveryRecord {
  id: string;
  eventId: string;
  eventType: string;
  occurredAt: Date;
  subscriptionId: string | null;
  replayOf: string | null;
  status: string;
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  completedAt: Date | null;
  attempts: AttemptRecord[];
}

const DELIVERY_INCLUDE = {
  event: { select: { type: true, occurredAt: true } },
  attempts: { orderBy: [{ attemptedAt: 'asc' }, { id: 'asc' }] },
} satisfies Prisma.NotificationDeliveryInclude;

type DeliveryRow = Prisma.NotificationDeliveryGetPayload<{ include: typeof DELIVERY_INCLUDE }>;

function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.event.type,
    occurredAt: row.event.occurredAt,
    subscriptionId: row.subscriptionId,
    replayOf: row.replayOf,
    status: row.status,
    attemptCount: row.attemptCount,
    nextAttemptAt: row.nextAttemptAt,
    lastError: row.lastError,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
    attempts: row.attempts.map((attempt) => ({
      attemptedAt: attempt.attemptedAt,
      durationMs: attempt.durationMs,
      outcome: attempt.outcome,
      statusCode: attempt.statusCode,
      error: attempt.error,
      target: attempt.target,
    })),
  };
}

const SUBSCRIPTION_SELECT = {
  id: true,
  url: true,
  events: true,
  organizationId: true,
  secretSealed: true,
  secretKeyId: true,
  createdByOwner: true,
  createdAt: true,
  deletedAt: true,
} as const;

/** The only place that touches Prisma for webhook subscriptions and their delivery log. */
@Injectable()
export class WebhookSubscriptionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  async organizationExists(organizationId: string): Promise<boolean> {
    return (await this.prisma.organization.count({ where: { id: organizationId } })) > 0;
  }

  insert(
    tx: Transaction,
    data: { id: string; url: string; events: string[]; organizationId: string | null; secretSealed: string; secretKeyId: string; createdBy: string | null; createdByOwner: string | null; createdAt: Date },
  ): Promise<SubscriptionRecord> {
    return tx.webhookSubscription.create({ data, select: SUBSCRIPTION_SELECT });
  }

  /** A live (not deleted) subscription. */
  findLive(id: string): Promise<SubscriptionRecord | null> {
    return this.prisma.webhookSubscription.findFirst({ where: { id, deletedAt: null }, select: SUBSCRIPTION_SELECT });
  }

  async lockLive(tx: Transaction, id: string): Promise<SubscriptionRecord | null> {
    await tx.$queryRaw`SELECT id FROM webhook_subscriptions WHERE id = ${id}::uuid AND deleted_at IS NULL FOR UPDATE`;
    return tx.webhookSubscription.findFirst({ where: { id, deletedAt: null }, select: SUBSCRIPTION_SELECT });
  }

  list(limit: number, after?: { at: Date; id: string }): Promise<SubscriptionRecord[]> {
    return this.prisma.webhookSubscription.findMany({
      where: {
        deletedAt: null,
        ...(after === undefined ? {} : { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      select: SUBSCRIPTION_SELECT,
    });
  }

  /** Deletes the subscription (kept for its delivery log) and cancels what it still had to deliver. */
  async delete(tx: Transaction, id: string, at: Date): Promise<SubscriptionRecord> {
    await tx.notificationDelivery.updateMany({
      where: { subscriptionId: id, status: 'pending' },
      data: { status: 'cancelled', completedAt: at, nextAttemptAt: null, lastError: 'the subscription was deleted' },
    });
    return tx.webhookSubscription.update({ where: { id }, data: { deletedAt: at }, select: SUBSCRIPTION_SELECT });
  }

  async deliveries(
    subscriptionId: string,
    status: string | undefined,
    limit: number,
    after?: { at: Date; id: string },
  ): Promise<DeliveryRecord[]> {
    const rows = await this.prisma.notificationDelivery.findMany({
      where: {
        subscriptionId,
        ...(status === undefined ? {} : { status }),
        ...(after === undefined ? {} : { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include: DELIVERY_INCLUDE,
    });
    return rows.map(toDelivery);
  }

  async delivery(tx: Transaction, subscriptionId: string, deliveryId: string): Promise<DeliveryRecord | null> {
    const row = await tx.notificationDelivery.findFirst({ where: { id: deliveryId, subscriptionId }, include: DELIVERY_INCLUDE });
    return row === null ? null : toDelivery(row);
  }

  /** A new delivery of the same event to the same subscription, due now; the worker is told at commit. */
  async replay(tx: Transaction, original: DeliveryRecord, now: Date): Promise<DeliveryRecord> {
    const row = await tx.notificationDelivery.create({
      data: { eventId: original.eventId, channel: 'webhook', subscriptionId: original.subscriptionId, replayOf: original.id, nextAttemptAt: now, createdAt: now },
      include: DELIVERY_INCLUDE,
    });
    await tx.$executeRaw`SELECT pg_notify(${NOTIFICATIONS_CHANNEL}, '')`;
    return toDelivery(row);
  }
}
