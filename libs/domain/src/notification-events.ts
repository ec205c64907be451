/**
 * The events HeloPass tells the outside world about (webhooks, e-mail to an
 * organization's technical contacts). Most follow from an audit event — the
 * database maps audit actions to these types (table `webhook_event_actions`),
 * so a change cannot happen without its event — and the rest are produced by
 * the worker as time passes (reminders, waiting approvals, unused grants).
 */
export const NOTIFICATION_EVENT_TYPES = [
  'exception.requested',
  'exception.approved',
  'exception.rejected',
  'exception.granted',
  'exception.revoked',
  'exception.renewed',
  'exception.suspended',
  'exception.restored',
  'exception.expiring',
  'exception.expired',
  'exception.no_longer_needed',
  'exception.approval_waiting',
  'exception.stale',
  'domain.verified',
  'domain.failing',
  'domain.lapsed',
  'domain.recovered',
  'domain.override_approval_waiting',
] as const;

export type NotificationEventType = (typeof NOTIFICATION_EVENT_TYPES)[number];

export function isNotificationEventType(value: unknown): value is NotificationEventType {
  return typeof value === 'string' && (NOTIFICATION_EVENT_TYPES as readonly string[]).includes(value);
}

/** Produced by the worker's sweep (not by an audit event): each exactly once per occasion. */
export const TIMED_EVENT_TYPES: readonly NotificationEventType[] = [
  'exception.expiring',
  'exception.approval_waiting',
  'exception.stale',
  'domain.override_approval_waiting',
];

/** What an organization's technical contacts are e-mailed about unless NOTIFY_EMAIL_EVENTS says otherwise. */
export const DEFAULT_EMAIL_EVENT_TYPES: readonly NotificationEventType[] = [
  'exception.expiring',
  'exception.expired',
  'exception.suspended',
  'exception.restored',
  'exception.revoked',
  'exception.no_longer_needed',
  'exception.stale',
  'domain.failing',
  'domain.lapsed',
  'domain.recovered',
];
