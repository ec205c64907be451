import { Injectable } from '@nestjs/common';
import type { Transaction } from '@app/database';

/** The channel every api and policy-server process listens on for allowlist changes. */
export const FEED_CHANNEL = 'helopass_feed';

/**
 * The one writer of allowlist versions. Every change to what is in the
 * allowlist calls `record()` inside its own transaction, naming the
 * exceptions it changed; PostgreSQL delivers the NOTIFY only when (and if)
 * the transaction commits, so listeners never hear of a change that rolled back.
 */
@Injectable()
export class FeedChangeLog {
  async record(tx: Transaction, exceptionIds: readonly string[]): Promise<bigint> {
    void exceptionIds;
    const [row] = await tx.$queryRaw<{ version: bigint }[]>`
      UPDATE feed_state SET version = version + 1, changed_at = clock_timestamp() WHERE id = 1 RETURNING version`;
    await tx.$executeRaw`INSERT INTO feed_versions (version, changed_at) VALUES (${row!.version}, clock_timestamp())`;
    await tx.$executeRaw`SELECT pg_notify(${FEED_CHANNEL}, ${row!.version.toString()})`;
    return row!.version;
  }
}
