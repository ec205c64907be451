import { Inject, Injectable, Logger } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog } from '@app/database';
import { FeedChangeLog } from '@app/enforcement';
import type { BlocklistReport, ListedFinding } from '@app/dns';
import { Clock, ConflictError, NotFoundError, type Actor, type ChangeContext } from '@app/domain';
import { BlocklistChecksRepository } from './blocklist-checks.repository.js';
import { blocklistVerdict, listingsAgainst, type AcceptedListing } from './blocklist-rules.js';
import { BlocklistScreening } from './blocklist-screening.js';
import { effectiveStatus, RUNNING_STATUSES, type ExceptionStatus, type SuspensionCause } from './exception-rules.js';
import { auditSnapshot } from './exception-view.js';
import { ExceptionsRepository, type ExceptionRecord } from './exceptions.repository.js';
import { SelfHealingService, type SelfHealingOutcome } from './self-healing.service.js';
import { liftFor, suspendFor, type SuspensionChange } from './suspension.js';

const WORKER: Actor = { id: null, name: 'system:worker', role: 'system', owner: null };
const MINUTE = 60_000;
/** Exceptions looked up per sweep: with a /24 each, 100 × 256 lookups per zone at most (fewer with the cache). */
const SWEEP_BATCH = 100;
const CHANGED = {
  'exception.suspended': 'suspended',
  'exception.restored': 'restored',
  'exception.suspension_cause_lifted': 'suspension_cause_lifted',
} as const;

/** What running an exception's scheduled checks found, and what it changed. */
export interface CheckOutcome {
  exceptionId: string;
  checkedAt: Date;
  /** The exception's status and suspension causes after the check. */
  status: ExceptionStatus;
  suspensionCauses: SuspensionCause[];
  /**
   * What the check changed: `suspended` (for the listing; it may have been
   * suspended for another cause already), `restored`, `suspension_cause_lifted`
   * (delisted, but another cause still holds), or null (nothing).
   */
  changed: 'suspended' | 'restored' | 'suspension_cause_lifted' | null;
  blocklists: BlocklistReport & {
    /** False when no blocklist is configured: nothing was looked up. */
    enabled: boolean;
    /** The listings that count against it (all of them, less those its override accepted). */
    against: ListedFinding[];
  };
  /** The HELO name looked up as Postfix would: passing by itself marks the exception no longer needed. */
  selfHealing: SelfHealingOutcome;
}

/**
 * An exception's scheduled checks (today: the DNS blocklists), run by the
 * worker every `BLOCKLIST_RECHECK_INTERVAL_MINUTES` and on demand. A listing
 * suspends a running exception (it leaves the allowlist in the same
 * transaction); a clean check after the listing ends restores it, unless
 * another cause (the organization, a lapsed domain) still holds.
 */
@Injectable()
export class ExceptionChecksService {
  private readonly logger = new Logger(ExceptionChecksService.name);

  constructor(
    private readonly exceptions: ExceptionsRepository,
    private readonly checks: BlocklistChecksRepository,
    private readonly screening: BlocklistScreening,
    private readonly selfHealing: SelfHealingService,
    private readonly audit: AuditLog,
    private readonly feed: FeedChangeLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** Runs the checks of one pending, active or suspended exception now: the blocklists, then the HELO name (self-healing). */
  async recheck(id: string, context: ChangeContext): Promise<CheckOutcome> {
    const record = await this.exceptions.findById(id);
    if (!record) {
      throw new NotFoundError('exception');
    }
    const status = effectiveStatus(record, this.clock.now());
    if (!RUNNING_STATUSES.includes(status)) {
      throw new ConflictError(`the exception is ${status}; there is nothing to check`);
    }
    const blocklists = await this.run(record, context);
    const fresh = (await this.exceptions.findById(id)) ?? record;
    const selfHealing = await this.selfHealing.check(fresh, context);
    if (selfHealing.changed === 'revoked') {
      return { ...blocklists, status: 'revoked', selfHealing };
    }
    return { ...blocklists, selfHealing };
  }

  /**
   * The worker's share: active and suspended exceptions not looked up for
   * an interval, least recently checked first, at most `limit` per sweep.
   * Answers how many were checked.
   */
  async recheckDue(limit = SWEEP_BATCH): Promise<number> {
    const now = this.clock.now();
    const checkedBefore = new Date(now.getTime() - this.config.blocklists.recheckIntervalMinutes * MINUTE);
    const ids = await this.checks.due(now, checkedBefore, limit, !this.screening.enabled);
    for (const id of ids) {
      const record = await this.exceptions.findById(id);
      if (record) {
        await this.run(record, { actor: WORKER }).catch((error: unknown) =>
          this.logger.error({ err: error, exceptionId: id }, 'could not record a blocklist check'),
        );
      }
    }
    return ids.length;
  }

  /** Looks up first (outside the transaction: DNS takes time), then records and applies the result under the row lock. */
  private async run(record: ExceptionRecord, context: ChangeContext): Promise<Omit<CheckOutcome, 'selfHealing'>> {
    const report = await this.screening.check(record);
    return this.exceptions.transaction(async (tx) => {
      const current = await this.exceptions.lockById(tx, record.id);
      if (!current) {
        throw new NotFoundError('exception');
      }
      const now = this.clock.now();
      await this.checks.record(tx, current.id, now, report);
      const against = listingsAgainst(report, current.blocklistAccepted as AcceptedListing[] | null);
      let change: SuspensionChange | null = null;
      if (current.expiresAt > now) {
        const verdict = blocklistVerdict(current.suspensionCauses.includes('blocklist'), report, current.blocklistAccepted as AcceptedListing[] | null);
        change = verdict === 'suspend' ? suspendFor(current, 'blocklist', now) : verdict === 'restore' ? liftFor(current, 'blocklist') : null;
      }
      let after = current;
      if (change !== null) {
        after = await this.exceptions.update(tx, current.id, change.changes);
        await this.audit.append(tx, {
          actor: context.actor,
          action: change.action,
          entityType: 'exception',
          entityId: current.id,
          organizationId: current.organizationId,
          before: auditSnapshot(current, now),
          after: { ...auditSnapshot(after, now), blocklists: { listed: against, unknown: report.unknown } },
          requestId: context.requestId,
        });
        if (after.status !== current.status) {
          await this.feed.record(tx, [current.id]);
        }
      }
      return {
        exceptionId: current.id,
        checkedAt: now,
        status: effectiveStatus(after, now),
        suspensionCauses: after.suspensionCauses,
        changed: change === null ? null : CHANGED[change.action],
        blocklists: { ...report, enabled: this.screening.enabled, against },
      };
    });
  }
}
