import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog } from '@app/database';
import { Clock, type Actor } from '@app/domain';
import { toExceptionSummary, type SummaryRow } from './exception-summary.js';
import { OutboxRepository, type TimedEvent } from './outbox.repository.js';
import { RemindersRepository } from './reminders.repository.js';
import { StaleExceptionsRepository } from './stale-exceptions.repository.js';

const WORKER: Actor = { id: null, name: 'system:worker', role: 'system', owner: null };
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const BATCH = 200;
/** At most this many of each kind per sweep; the rest follow at the next one. */
const MAX_PER_SWEEP = 5000;

export interface ReminderReport {
  expiring: number;
  approvalWaiting: number;
  overrideWaiting: number;
  stale: number;
}

function organizationOf(row: SummaryRow) {
  return { id: row.organization_id, name: row.organization_name, customerRef: row.customer_ref };
}

/**
 * The events time produces, run by the worker's sweep: an exception's
 * expiry approaching (once per configured lead time — the smallest one due,
 * so an exception granted for five days is not told "14 days left" — and
 * again after a renewal moves the expiry), an approval left waiting, and,
 * under STALE_EXCEPTION_POLICY=notify, an active exception nobody's mail
 * needed lately (flagged in its history and announced; never revoked).
 * Each occasion has a key; its unique index makes it exactly once however
 * many sweeps or workers run.
 */
@Injectable()
export class RemindersService {
  constructor(
    private readonly reminders: RemindersRepository,
    private readonly staleExceptions: StaleExceptionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  async produceDue(): Promise<ReminderReport> {
    return {
      expiring: await this.expiring(),
      approvalWaiting: await this.approvalWaiting(),
      overrideWaiting: await this.overrideWaiting(),
      stale: await this.stale(),
    };
  }

  private async expiring(): Promise<number> {
    const leads = this.config.notifications.reminders.expiryLeadDays;
    if (leads.length === 0) {
      return 0;
    }
    return this.drain(
      () => this.reminders.expiring(this.clock.now(), leads, BATCH),
      (row, now) => ({
        type: 'exception.expiring',
        organizationId: row.organization_id,
        occurredAt: now,
        occasionKey: `exception.expiring:${row.id}:${row.lead_days}:${row.expires_at.getTime()}`,
        data: { exception: toExceptionSummary(row), organization: organizationOf(row), leadDays: row.lead_days, expiresAt: row.expires_at },
      }),
    );
  }

  private async approvalWaiting(): Promise<number> {
    const hours = this.config.notifications.reminders.approvalWaitingHours;
    return this.drain(
      () => {
        const now = this.clock.now();
        return this.reminders.approvalWaiting(now, new Date(now.getTime() - hours * HOUR_MS), BATCH);
      },
      (row, now) => ({
        type: 'exception.approval_waiting',
        organizationId: row.organization_id,
        occurredAt: now,
        occasionKey: `exception.approval_waiting:${row.id}`,
        data: { exception: toExceptionSummary(row), organization: organizationOf(row), waitingSince: row.created_at, waitingHours: hours },
      }),
    );
  }

  private async overrideWaiting(): Promise<number> {
    const hours = this.config.notifications.reminders.approvalWaitingHours;
    return this.drain(
      () => this.reminders.overrideWaiting(new Date(this.clock.now().getTime() - hours * HOUR_MS), BATCH),
      (row, now) => ({
        type: 'domain.override_approval_waiting',
        organizationId: row.organization_id,
        occurredAt: now,
        occasionKey: `domain.override_approval_waiting:${row.id}:${row.pending_override_requested_at.getTime()}`,
        data: {
          domain: {
            id: row.id,
            organizationId: row.organization_id,
            name: row.name,
            status: row.status,
            pendingOverride: {
              justification: row.pending_override_justification,
              expiresAt: row.pending_override_expires_at,
              requestedByOwner: row.pending_override_by_owner,
              requestedAt: row.pending_override_requested_at,
            },
          },
          organization: { id: row.organization_id, name: row.organization_name, customerRef: row.customer_ref },
          waitingSince: row.pending_override_requested_at,
          waitingHours: hours,
        },
      }),
    );
  }

  private async stale(): Promise<number> {
    const { policy, unusedDays } = this.config.notifications.stale;
    if (policy !== 'notify') {
      return 0;
    }
    return this.drain(
      () => {
        const now = this.clock.now();
        return this.staleExceptions.list(now, new Date(now.getTime() - unusedDays * DAY_MS), BATCH, { unannouncedOnly: true });
      },
      (row, now) => ({
        type: 'exception.stale',
        organizationId: row.organization_id,
        occurredAt: now,
        occasionKey: `exception.stale:${row.id}:${row.unused_since.getTime()}`,
        data: {
          exception: toExceptionSummary(row),
          organization: organizationOf(row),
          unusedSince: row.unused_since,
          unusedDays: Math.floor((now.getTime() - row.unused_since.getTime()) / DAY_MS),
        },
      }),
      // The flag belongs to the exception's history, written with its announcement.
      (tx, event, row) =>
        this.audit.append(tx, {
          actor: WORKER,
          action: 'exception.flagged_stale',
          entityType: 'exception',
          entityId: row.id,
          organizationId: row.organization_id,
          after: { unusedSince: row.unused_since, unusedDays: event.data.unusedDays, lastMatchedAt: row.last_matched_at, matchCount: Number(row.match_count), policy: 'notify' },
        }),
    );
  }

  /** Announces every due occasion a query finds, batch after batch; each announcement in its own transaction. */
  private async drain<Row>(
    find: () => Promise<Row[]>,
    eventOf: (row: Row, now: Date) => TimedEvent,
    alongside?: (tx: Parameters<Parameters<RemindersRepository['transaction']>[0]>[0], event: TimedEvent, row: Row) => Promise<void>,
  ): Promise<number> {
    let announced = 0;
    for (let seen = 0; seen < MAX_PER_SWEEP; ) {
      const rows = await find();
      for (const row of rows) {
        const event = eventOf(row, this.clock.now());
        const added = await this.reminders.transaction(async (tx) => {
          const fresh = await this.outbox.addTimed(tx, event);
          if (fresh && alongside !== undefined) {
            await alongside(tx, event, row);
          }
          return fresh;
        });
        announced += added ? 1 : 0;
      }
      seen += rows.length;
      if (rows.length < BATCH) {
        break;
      }
    }
    return announced;
  }
}
