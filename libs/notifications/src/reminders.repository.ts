import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService, type Transaction } from '@app/database';
import { SUMMARY_COLUMNS, type SummaryRow } from './exception-summary.js';

/** A pending domain override, as `domain.override_approval_waiting` carries it. */
export interface WaitingOverrideRow {
  id: string;
  organization_id: string;
  name: string;
  status: string;
  pending_override_justification: string | null;
  pending_override_expires_at: Date | null;
  pending_override_by_owner: string | null;
  pending_override_requested_at: Date;
  organization_name: string;
  customer_ref: string | null;
}

/** Milliseconds since the epoch of a timestamptz, as the occasion keys spell instants (and Date.getTime() does). */
const epochMs = (column: Prisma.Sql) => Prisma.sql`(extract(epoch FROM ${column}) * 1000)::bigint::text`;

/**
 * The queries of the worker's timed events. Each leaves out what was
 * announced already (by its occasion key), so a sweep run twice finds
 * nothing new the second time; the key's unique index settles races.
 */
@Injectable()
export class RemindersRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  /**
   * Running exceptions within the largest lead time of their expiry, each
   * with the smallest lead time it is within (the most urgent reminder due),
   * not announced yet for that lead time and that expiry.
   */
  expiring(now: Date, leadDays: readonly number[], limit: number): Promise<Array<SummaryRow & { lead_days: number }>> {
    const longest = Math.max(...leadDays);
    return this.prisma.$queryRaw`
      WITH due AS (
        SELECT e.id, e.expires_at,
          (SELECT min(d) FROM unnest(${[...leadDays]}::int[]) AS d WHERE e.expires_at <= ${now}::timestamptz + make_interval(days => d)) AS lead_days
        FROM exceptions e
        WHERE e.status IN ('active', 'suspended') AND e.expires_at > ${now}
          AND e.expires_at <= ${now}::timestamptz + make_interval(days => ${longest}::int)
      )
      SELECT ${SUMMARY_COLUMNS}, due.lead_days
      FROM due JOIN exceptions e ON e.id = due.id JOIN organizations o ON o.id = e.organization_id
      WHERE NOT EXISTS (SELECT 1 FROM notification_events n
        WHERE n.occasion_key = 'exception.expiring:' || due.id::text || ':' || due.lead_days::text || ':' || ${epochMs(Prisma.sql`due.expires_at`)})
      ORDER BY e.expires_at, e.id LIMIT ${limit}`;
  }

  /** Exceptions waiting for a second person's approval since before `cutoff`, not announced yet. */
  approvalWaiting(now: Date, cutoff: Date, limit: number): Promise<SummaryRow[]> {
    return this.prisma.$queryRaw`
      SELECT ${SUMMARY_COLUMNS}
      FROM exceptions e JOIN organizations o ON o.id = e.organization_id
      WHERE e.status = 'pending_approval' AND e.created_at <= ${cutoff} AND e.expires_at > ${now}
        AND NOT EXISTS (SELECT 1 FROM notification_events n WHERE n.occasion_key = 'exception.approval_waiting:' || e.id::text)
      ORDER BY e.created_at, e.id LIMIT ${limit}`;
  }

  /** Domain overrides waiting for another admin since before `cutoff`, not announced yet (per request). */
  overrideWaiting(cutoff: Date, limit: number): Promise<WaitingOverrideRow[]> {
    return this.prisma.$queryRaw`
      SELECT d.id::text AS id, d.organization_id::text AS organization_id, d.name, d.status::text AS status,
             d.pending_override_justification, d.pending_override_expires_at, d.pending_override_by_owner,
             d.pending_override_requested_at, o.name AS organization_name, o.customer_ref
      FROM domains d JOIN organizations o ON o.id = d.organization_id
      WHERE d.pending_override_requested_at <= ${cutoff}
        AND NOT EXISTS (SELECT 1 FROM notification_events n
          WHERE n.occasion_key = 'domain.override_approval_waiting:' || d.id::text || ':' || ${epochMs(Prisma.sql`d.pending_override_requested_at`)})
      ORDER BY d.pending_override_requested_at, d.id LIMIT ${limit}`;
  }
}
