import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService } from '@app/database';
import { SUMMARY_COLUMNS, type SummaryRow } from './exception-summary.js';

export interface StaleRow extends SummaryRow {
  /** The last match, or the start for an exception never matched. */
  unused_since: Date;
}

/**
 * Active exceptions nobody's mail needed lately: no match (usage reported by
 * the policy server: `lastMatchedAt`) since `cutoff`, or never matched and
 * started before it. Longest unused first.
 */
@Injectable()
export class StaleExceptionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  list(now: Date, cutoff: Date, limit: number, options: { after?: { at: Date; id: string }; unannouncedOnly?: boolean } = {}): Promise<StaleRow[]> {
    const conditions: Prisma.Sql[] = [
      Prisma.sql`e.status = 'active'`,
      Prisma.sql`e.starts_at <= ${now}`,
      Prisma.sql`e.expires_at > ${now}`,
      Prisma.sql`COALESCE(e.last_matched_at, e.starts_at) <= ${cutoff}`,
    ];
    if (options.after !== undefined) {
      conditions.push(Prisma.sql`(COALESCE(e.last_matched_at, e.starts_at), e.id) > (${options.after.at}::timestamptz, ${options.after.id}::uuid)`);
    }
    if (options.unannouncedOnly === true) {
      conditions.push(Prisma.sql`NOT EXISTS (SELECT 1 FROM notification_events n WHERE n.occasion_key =
        'exception.stale:' || e.id::text || ':' || (extract(epoch FROM COALESCE(e.last_matched_at, e.starts_at)) * 1000)::bigint::text)`);
    }
    return this.prisma.$queryRaw`
      SELECT ${SUMMARY_COLUMNS}, COALESCE(e.last_matched_at, e.starts_at) AS unused_since
      FROM exceptions e JOIN organizations o ON o.id = e.organization_id
      WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY unused_since, e.id LIMIT ${limit}`;
  }
}
