import type { Transaction } from '@app/database';

/** The channel every api and policy-server process listens on for allowlist changes. */
export const FEED_CHANNEL = 'helopass_feed';

/**
 * Bumps the allowlist version inside the caller's transaction and queues a
 * NOTIFY carrying it. PostgreSQL delivers a NOTIFY only when (and if) the
 * transaction commits, so listeners never hear of a change that rolled back.
 */
export async function bumpFeedVersion(tx: Transaction): Promise<bigint> {
  const [row] = await tx.$queryRaw<{ version: bigint }[]>`
    UPDATE feed_state SET version = version + 1, changed_at = clock_timestamp() WHERE id = 1 RETURNING version`;
  await tx.$executeRaw`INSERT INTO feed_versions (version, changed_at) VALUES (${row!.version}, clock_timestamp())`;
  await tx.$executeRaw`SELECT pg_notify(${FEED_CHANNEL}, ${row!.version.toString()})`;
  return row!.version;
}
