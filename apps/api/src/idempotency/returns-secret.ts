import { SetMetadata } from '@nestjs/common';

export const RETURNS_SECRET = 'helopass:returns-secret';

/**
 * Marks a route whose response carries a secret in the named top-level
 * fields. The secret is shown in that response only: the idempotency layer
 * keeps the response without it (see `withoutSecrets`), so the secret never
 * reaches the database and a replay does not show it again.
 */
export const ReturnsSecret = (...fields: [string, ...string[]]) => SetMetadata(RETURNS_SECRET, fields);

/**
 * The response as it may be kept for replays: each secret field `null`, and
 * `secretShownOnce: true` so the client knows why. A body that is not an
 * object cannot be emptied field by field, so none of it is kept.
 */
export function withoutSecrets(body: unknown, fields: readonly string[]): Record<string, unknown> | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return null;
  }
  const kept: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of fields) {
    kept[field] = null;
  }
  kept.secretShownOnce = true;
  return kept;
}
