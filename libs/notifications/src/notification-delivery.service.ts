import { Inject, Injectable, Logger } from '@nestjs/common';
import pLimit from 'p-limit';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { Clock } from '@app/domain';
import { renderEmail } from './email-message.js';
import { EmailSender } from './email-sender.js';
import { NotificationTargets } from './notification-targets.js';
import { OutboxRepository, type AttemptRow, type ClaimedDelivery, type DeliveryOutcome } from './outbox.repository.js';
import { SecretUnavailableError } from './secret-box.js';
import { WebhookSecrets } from './secret-keys.js';
import { signedHeaders, webhookBody } from './webhook-signing.js';
import { postWebhook, type AttemptResult } from './webhook-http.js';

/** Redirects followed per attempt, each hop checked like the first. */
export const MAX_REDIRECTS = 3;
const BATCH = 20;
const CONCURRENCY = 8;
const MAX_BATCHES_PER_ROUND = 50;
const DISPATCH_BATCH = 500;

/** Wait before attempt `attempt + 1`: the base, doubled after each failed attempt, at most `max` (seconds). */
export function retryDelaySeconds(attempt: number, baseSeconds: number, maxSeconds: number): number {
  return Math.min(baseSeconds * 2 ** Math.max(0, attempt - 1), maxSeconds);
}

export interface RoundReport {
  dispatched: number;
  delivered: number;
  retrying: number;
  failed: number;
  /** When the next pending delivery is due (null: none). */
  nextDueAt: Date | null;
}

/**
 * The delivery side of the outbox, run by the worker's job queue: hands new
 * events to the subscriptions and contacts they concern, then attempts every
 * delivery that is due. A failed attempt is retried with exponential backoff
 * (WEBHOOK_RETRY_BASE_SECONDS doubling up to WEBHOOK_RETRY_MAX_SECONDS) until
 * WEBHOOK_MAX_ATTEMPTS; a target that is refused (a private address, say) is
 * not retried. Every attempt is logged; the injected clock decides what is due.
 */
@Injectable()
export class NotificationDeliveryService {
  private readonly logger = new Logger('Notifications');

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly secrets: WebhookSecrets,
    private readonly targets: NotificationTargets,
    private readonly email: EmailSender,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  async runOnce(): Promise<RoundReport> {
    const report: RoundReport = { dispatched: await this.dispatchAll(), delivered: 0, retrying: 0, failed: 0, nextDueAt: null };
    const limit = pLimit(CONCURRENCY);
    const settings = this.config.notifications.webhooks;
    // An attempt (every redirect included) ends within the timeout; the lease outlasts it, so no other worker takes it meanwhile.
    const leaseMs = settings.timeoutMs * 2 + 60_000;
    for (let batch = 0; batch < MAX_BATCHES_PER_ROUND; batch += 1) {
      const now = this.clock.now();
      const claimed = await this.outbox.claimDue(now, new Date(now.getTime() + leaseMs), BATCH);
      const statuses = await Promise.all(claimed.map((delivery) => limit(() => this.attempt(delivery))));
      for (const status of statuses) {
        if (status === 'succeeded') report.delivered += 1;
        else if (status === 'pending') report.retrying += 1;
        else if (status === 'failed') report.failed += 1;
      }
      if (claimed.length < BATCH) {
        break;
      }
    }
    report.nextDueAt = await this.outbox.nextDueAt();
    return report;
  }

  /** Deletes events (with their deliveries and attempts) older than NOTIFICATION_LOG_RETENTION_DAYS, in bounded batches. */
  async purgeLog(batchSize = 1000, maxBatches = 20): Promise<number> {
    const before = new Date(this.clock.now().getTime() - this.config.notifications.logRetentionDays * 86_400_000);
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const deleted = await this.outbox.purge(before, batchSize);
      total += deleted;
      if (deleted < batchSize) {
        break;
      }
    }
    return total;
  }

  private async dispatchAll(): Promise<number> {
    const emailTypes = this.email.enabled ? (this.config.notifications.email?.events ?? []) : [];
    let total = 0;
    for (;;) {
      const dispatched = await this.outbox.dispatch(this.clock.now(), emailTypes, DISPATCH_BATCH);
      total += dispatched;
      if (dispatched < DISPATCH_BATCH) {
        return total;
      }
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<DeliveryOutcome['status'] | 'cancelled'> {
    const attemptedAt = this.clock.now();
    const started = performance.now();
    if (delivery.channel === 'webhook' && (delivery.subscription === null || delivery.subscription.deleted)) {
      await this.outbox.cancel(delivery.id, attemptedAt, 'the subscription was deleted');
      return 'cancelled';
    }
    let result: AttemptResult;
    try {
      result = delivery.channel === 'webhook' ? await this.postWebhook(delivery) : await this.sendEmail(delivery);
    } catch (error) {
      // Whatever went wrong on our side is logged as a failed attempt and retried, never lost.
      this.logger.error({ err: error, deliveryId: delivery.id }, 'notification attempt failed unexpectedly');
      result = { outcome: 'failed', statusCode: null, error: 'internal error while attempting the delivery', target: null };
    }
    const attempt: AttemptRow = {
      attemptedAt,
      durationMs: Math.round(performance.now() - started),
      outcome: result.outcome,
      statusCode: result.statusCode,
      error: result.error?.slice(0, 500) ?? null,
      target: result.target?.slice(0, 2048) ?? null,
    };
    const outcome = this.outcomeOf(delivery, result);
    await this.outbox.record(delivery.id, attempt, outcome);
    if (outcome.status === 'failed') {
      this.logger.warn(
        { deliveryId: delivery.id, eventId: delivery.eventId, channel: delivery.channel, attempts: delivery.attemptCount + 1, error: result.error },
        'notification given up',
      );
    }
    return outcome.status;
  }

  private outcomeOf(delivery: ClaimedDelivery, result: AttemptResult): DeliveryOutcome {
    const now = this.clock.now();
    if (result.outcome === 'delivered') {
      return { status: 'succeeded', nextAttemptAt: null, lastError: null, completedAt: now };
    }
    const settings = this.config.notifications.webhooks;
    const attempts = delivery.attemptCount + 1;
    if (result.outcome === 'refused' || attempts >= settings.maxAttempts) {
      return { status: 'failed', nextAttemptAt: null, lastError: result.error, completedAt: now };
    }
    const delay = retryDelaySeconds(attempts, settings.retryBaseSeconds, settings.retryMaxSeconds);
    return { status: 'pending', nextAttemptAt: new Date(now.getTime() + delay * 1000), lastError: result.error, completedAt: null };
  }

  private async postWebhook(delivery: ClaimedDelivery): Promise<AttemptResult> {
    const subscription = delivery.subscription!;
    let secret: string;
    try {
      secret = (await this.secrets.get()).open({ sealed: subscription.secretSealed, keyId: subscription.secretKeyId }, subscription.id);
    } catch (error) {
      if (error instanceof SecretUnavailableError) {
        // No key will open it on a retry either: the admin must configure the key again, or subscribe anew.
        return { outcome: 'refused', statusCode: null, error: `cannot sign: ${error.message}`, target: subscription.url };
      }
      throw error;
    }
    const body = webhookBody({ type: delivery.eventType, occurredAt: delivery.occurredAt, data: delivery.data });
    const headers = signedHeaders(secret, delivery.eventId, this.clock.now(), body);
    return postWebhook(new URL(subscription.url), body, headers, {
      guard: this.targets.guard,
      timeoutMs: this.config.notifications.webhooks.timeoutMs,
      maxRedirects: MAX_REDIRECTS,
    });
  }

  private async sendEmail(delivery: ClaimedDelivery): Promise<AttemptResult> {
    if (!this.email.enabled) {
      return { outcome: 'refused', statusCode: null, error: 'e-mail is no longer configured (SMTP_URL)', target: 'smtp' };
    }
    try {
      await this.email.send(delivery.recipients, renderEmail({ id: delivery.eventId, type: delivery.eventType, occurredAt: delivery.occurredAt, data: delivery.data }));
      return { outcome: 'delivered', statusCode: null, error: null, target: 'smtp' };
    } catch (error) {
      const smtp = error as { responseCode?: number; response?: string; code?: string; message?: string };
      const said = smtp.response ?? smtp.message ?? 'unknown error';
      return { outcome: 'failed', statusCode: smtp.responseCode ?? null, error: `${smtp.code ?? 'SMTP'}: ${said}`.slice(0, 500), target: 'smtp' };
    }
  }
}
