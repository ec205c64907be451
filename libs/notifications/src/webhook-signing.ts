import { Webhook } from 'standardwebhooks';

/** What a receiver gets: `{type, timestamp, data}` (the event's time, ISO-8601 UTC). */
export function webhookBody(event: { type: string; occurredAt: Date; data: unknown }): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data });
}

/**
 * The Standard Webhooks headers (https://www.standardwebhooks.com/): the
 * event id as `webhook-id` (the same on every retry and replay, so a
 * receiver can drop duplicates), the sending time in Unix seconds, and
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` signed by the
 * maintained reference implementation.
 */
export function signedHeaders(secret: string, eventId: string, at: Date, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'HeloPass-Webhooks/1',
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(eventId, at, body),
  };
}
