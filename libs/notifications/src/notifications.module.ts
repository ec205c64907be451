import { Module } from '@nestjs/common';
import { EmailSender } from './email-sender.js';
import { NotificationDeliveryService } from './notification-delivery.service.js';
import { NotificationTargets } from './notification-targets.js';
import { OutboxRepository } from './outbox.repository.js';
import { RemindersRepository } from './reminders.repository.js';
import { RemindersService } from './reminders.service.js';
import { WebhookSecretKeyRepository, WebhookSecrets } from './secret-keys.js';
import { StaleExceptionsReport } from './stale-exceptions.report.js';
import { StaleExceptionsRepository } from './stale-exceptions.repository.js';
import { WebhookSubscriptionsRepository } from './webhook-subscriptions.repository.js';
import { WebhookSubscriptionsService } from './webhook-subscriptions.service.js';

/**
 * Closing the loop with the customer: webhook subscriptions, the outbox's
 * delivery (webhooks and e-mail to technical contacts), the worker's
 * reminders, and the stale-exception report. Shared by the API (routes) and
 * the worker (delivery, reminders).
 */
@Module({
  providers: [
    EmailSender,
    NotificationDeliveryService,
    NotificationTargets,
    OutboxRepository,
    RemindersRepository,
    RemindersService,
    StaleExceptionsReport,
    StaleExceptionsRepository,
    WebhookSecretKeyRepository,
    WebhookSecrets,
    WebhookSubscriptionsRepository,
    WebhookSubscriptionsService,
  ],
  exports: [NotificationDeliveryService, RemindersService, StaleExceptionsReport, WebhookSubscriptionsService, NotificationTargets],
})
export class NotificationsModule {}
