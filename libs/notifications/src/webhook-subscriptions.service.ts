import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditLog } from '@app/database';
import {
  Clock,
  ConflictError,
  cursorPosition,
  InvalidFieldError,
  isNotificationEventType,
  NotFoundError,
  RuleViolationError,
  toPage,
  type ChangeContext,
  type NotificationEventType,
  type Page,
} from '@app/domain';
import { NotificationTargets } from './notification-targets.js';
import { WebhookSecrets } from './secret-keys.js';
import {
  WebhookSubscriptionsRepository,
  type DeliveryRecord,
  type SubscriptionRecord,
} from './webhook-subscriptions.repository.js';

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  organizationId: string | null;
  createdByOwner: string | null;
  createdAt: Date;
  deletedAt: Date | null;
}

/** The subscription as created: with its signing secret, shown this once. */
export interface CreatedWebhook extends WebhookView {
  secret: string;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  occurredAt: Date;
  status: string;
  replayOf: string | null;
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  completedAt: Date | null;
  attempts: Array<{ attemptedAt: Date; durationMs: number; outcome: string; statusCode: number | null; error: string | null; target: string | null }>;
}

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

function toView(record: SubscriptionRecord): WebhookView {
  return {
    id: record.id,
    url: record.url,
    events: record.events,
    organizationId: record.organizationId,
    createdByOwner: record.createdByOwner,
    createdAt: record.createdAt,
    deletedAt: record.deletedAt,
  };
}

function toDeliveryView(record: DeliveryRecord): DeliveryView {
  return {
    id: record.id,
    eventId: record.eventId,
    eventType: record.eventType,
    occurredAt: record.occurredAt,
    status: record.status,
    replayOf: record.replayOf,
    attemptCount: record.attemptCount,
    nextAttemptAt: record.nextAttemptAt,
    lastError: record.lastError,
    createdAt: record.createdAt,
    completedAt: record.completedAt,
    attempts: record.attempts,
  };
}

const MAX_URL_LENGTH = 2048;

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidFieldError('url', 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidFieldError('url', 'must be an absolute http:// or https:// URL');
  }
  if (url.username !== '' || url.password !== '') {
    // They would sit in the database and the delivery log in the clear.
    throw new InvalidFieldError('url', 'must not contain a user name or password; verify the webhook signature instead');
  }
  if (url.hash !== '') {
    throw new InvalidFieldError('url', 'must not contain a fragment (#…)');
  }
  if (url.toString().length > MAX_URL_LENGTH) {
    // Percent-encoding can make a URL longer than it was sent.
    throw new InvalidFieldError('url', `must be at most ${MAX_URL_LENGTH} characters once percent-encoded`);
  }
  return url;
}

/**
 * Webhook subscriptions (admin): where events are POSTed, which, for which
 * organization, signed with a secret shown once and kept only sealed.
 */
@Injectable()
export class WebhookSubscriptionsService {
  constructor(
    private readonly subscriptions: WebhookSubscriptionsRepository,
    private readonly secrets: WebhookSecrets,
    private readonly targets: NotificationTargets,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async create(input: { url: string; events: string[]; organizationId?: string }, context: ChangeContext): Promise<CreatedWebhook> {
    const url = parseUrl(input.url);
    const events = [...new Set(input.events)];
    events.forEach((event, index) => {
      if (!isNotificationEventType(event)) {
        throw new InvalidFieldError(`events[${index}]`, 'is not an event type this service sends');
      }
    });
    const organizationId = input.organizationId ?? null;
    if (organizationId !== null && !(await this.subscriptions.organizationExists(organizationId))) {
      throw new NotFoundError('organization');
    }
    // The same check every delivery makes: a URL we would never deliver to is refused now, not in the delivery log later.
    const decision = await this.targets.guard.admit(url);
    if (decision.kind === 'refused') {
      throw new RuleViolationError(`url: ${decision.reason}`);
    }
    const id = randomUUID();
    const secret = newSecret();
    const sealed = (await this.secrets.get()).seal(secret, id);
    const record = await this.subscriptions.transaction(async (tx) => {
      const created = await this.subscriptions.insert(tx, {
        id,
        url: url.toString(),
        events: events as NotificationEventType[],
        organizationId,
        secretSealed: sealed.sealed,
        secretKeyId: sealed.keyId,
        createdBy: context.actor.id,
        createdByOwner: context.actor.owner,
        createdAt: this.clock.now(),
      });
      await this.audit.append(tx, {
        actor: context.actor,
        action: 'webhook.created',
        entityType: 'webhook_subscription',
        entityId: id,
        organizationId,
        after: toView(created),
        requestId: context.requestId,
      });
      return created;
    });
    return { ...toView(record), secret };
  }

  async get(id: string): Promise<WebhookView> {
    const record = await this.subscriptions.findLive(id);
    if (record === null) {
      throw new NotFoundError('webhook');
    }
    return toView(record);
  }

  async list(limit: number, cursor?: string): Promise<Page<WebhookView>> {
    const rows = await this.subscriptions.list(limit + 1, cursorPosition(cursor));
    return toPage(rows, limit, toView, (row) => ({ at: row.createdAt, id: row.id }));
  }

  /** Deletes it: nothing more is delivered to it (pending deliveries are cancelled); it and its log then answer 404. */
  async delete(id: string, context: ChangeContext): Promise<WebhookView> {
    const record = await this.subscriptions.transaction(async (tx) => {
      const current = await this.subscriptions.lockLive(tx, id);
      if (current === null) {
        throw new NotFoundError('webhook');
      }
      const deleted = await this.subscriptions.delete(tx, id, this.clock.now());
      await this.audit.append(tx, {
        actor: context.actor,
        action: 'webhook.deleted',
        entityType: 'webhook_subscription',
        entityId: id,
        organizationId: current.organizationId,
        before: toView(current),
        after: toView(deleted),
        requestId: context.requestId,
      });
      return deleted;
    });
    return toView(record);
  }

  async deliveries(id: string, status: DeliveryStatus | undefined, limit: number, cursor?: string): Promise<Page<DeliveryView>> {
    const after = cursorPosition(cursor);
    await this.get(id);
    const rows = await this.subscriptions.deliveries(id, status, limit + 1, after);
    return toPage(rows, limit, toDeliveryView, (row) => ({ at: row.createdAt, id: row.id }));
  }

  /** Delivers the delivery's event again, as a new delivery (same webhook-id, new timestamp and signature). */
  async replay(id: string, deliveryId: string, context: ChangeContext): Promise<DeliveryView> {
    const replayed = await this.subscriptions.transaction(async (tx) => {
      const subscription = await this.subscriptions.lockLive(tx, id);
      if (subscription === null) {
        throw new NotFoundError('webhook');
      }
      const original = await this.subscriptions.delivery(tx, id, deliveryId);
      if (original === null) {
        throw new NotFoundError('delivery');
      }
      if (original.status === 'pending') {
        throw new ConflictError('the delivery is still being attempted; replay it once it has succeeded or failed');
      }
      const copy = await this.subscriptions.replay(tx, original, this.clock.now());
      await this.audit.append(tx, {
        actor: context.actor,
        action: 'webhook.delivery_replayed',
        entityType: 'webhook_subscription',
        entityId: id,
        organizationId: subscription.organizationId,
        after: { deliveryId: copy.id, replayOf: original.id, eventId: original.eventId, eventType: original.eventType },
        requestId: context.requestId,
      });
      return copy;
    });
    return toDeliveryView(replayed);
  }
}
