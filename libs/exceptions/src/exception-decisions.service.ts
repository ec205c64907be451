import { Inject, Injectable, Logger } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog, type Transaction } from '@app/database';
import {
  Clock,
  ConflictError,
  ForbiddenActionError,
  NotFoundError,
  PreconditionFailedError,
  RuleViolationError,
  Versioned,
  type Actor,
  type ChangeContext,
} from '@app/domain';
import { approvalReasons, effectiveStatus, needsAdminApproval } from './exception-rules.js';
import { auditSnapshot, toExceptionView, type ExceptionView } from './exception-view.js';
import { ExceptionsRepository, type ExceptionChanges, type ExceptionRecord } from './exceptions.repository.js';
import { bumpFeedVersion } from './feed-version.js';

const DAY = 86_400_000;
const WORKER: Actor = { id: null, name: 'system:worker', role: 'system' };

/** Whether the change moves the exception into or out of the allowlist, or changes its end while in it. */
export function altersFeed(before: ExceptionRecord, after: ExceptionRecord): boolean {
  const listed = (record: ExceptionRecord) => record.status === 'active';
  return listed(before) !== listed(after) || (listed(after) && before.expiresAt.getTime() !== after.expiresAt.getTime());
}

/**
 * What happens to an exception after it is requested: approval or rejection
 * by a second person, revocation, renewal, and expiry. Each change takes the
 * row lock, so two people acting at once are served one after the other and
 * the second sees what the first did.
 */
@Injectable()
export class ExceptionDecisionsService {
  private readonly logger = new Logger(ExceptionDecisionsService.name);

  constructor(
    private readonly exceptions: ExceptionsRepository,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** Approves a pending grant, or a pending renewal. The approver must not be the requester. */
  approve(id: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    return this.decide(id, expectedVersion, context, async (tx, current, now) => {
      const renewal = current.renewalExpiresAt !== null && effectiveStatus(current, now) !== 'pending_approval';
      if (!renewal && effectiveStatus(current, now) !== 'pending_approval') {
        throw new ConflictError(`the exception is ${effectiveStatus(current, now)}, not waiting for approval`);
      }
      const requester = renewal ? current.renewalRequestedBy : current.requestedBy;
      this.requireSecondPerson(requester, current, context.actor);
      if (renewal) {
        return {
          action: 'exception.renewal_approved',
          changes: { expiresAt: current.renewalExpiresAt!, renewalExpiresAt: null, renewalRequestedBy: null },
        };
      }
      const organization = await this.exceptions.organizationStatus(tx, current.organizationId);
      return {
        action: 'exception.approved',
        changes: {
          status: organization === 'active' ? 'active' : 'suspended',
          suspensionCause: organization === 'active' ? null : 'organization',
          suspendedAt: organization === 'active' ? null : now,
          approvedBy: context.actor.id,
          approvedAt: now,
        },
      };
    });
  }

  /** Rejects a pending grant (or a pending renewal, which leaves the exception as it was). */
  reject(id: string, reason: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    return this.decide(id, expectedVersion, context, async (_tx, current, now) => {
      const renewal = current.renewalExpiresAt !== null && effectiveStatus(current, now) !== 'pending_approval';
      if (!renewal && effectiveStatus(current, now) !== 'pending_approval') {
        throw new ConflictError(`the exception is ${effectiveStatus(current, now)}, not waiting for approval`);
      }
      this.requireSecondPerson(renewal ? current.renewalRequestedBy : current.requestedBy, current, context.actor);
      if (renewal) {
        return { action: 'exception.renewal_rejected', changes: { renewalExpiresAt: null, renewalRequestedBy: null } };
      }
      return {
        action: 'exception.rejected',
        changes: { status: 'rejected', rejectedBy: context.actor.id, rejectedAt: now, rejectionReason: reason },
      };
    });
  }

  /** Ends an exception now, with a reason. */
  revoke(id: string, reason: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    return this.decide(id, expectedVersion, context, async (_tx, current, now) => {
      const status = effectiveStatus(current, now);
      if (!['pending_approval', 'active', 'suspended'].includes(status)) {
        throw new ConflictError(`the exception is already ${status}`);
      }
      return {
        action: 'exception.revoked',
        changes: {
          status: 'revoked',
          revokedBy: context.actor.id,
          revokedAt: now,
          revokeReason: reason,
          renewalExpiresAt: null,
          renewalRequestedBy: null,
        },
      };
    });
  }

  /**
   * Extends an exception, within the maximum. A renewal the four-eyes rules
   * name (override, helo scope, wide prefix, long duration) waits for
   * approval; meanwhile the exception runs on until its current expiry.
   */
  renew(id: string, expiresAt: Date, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    return this.decide(id, expectedVersion, context, async (_tx, current, now) => {
      const status = effectiveStatus(current, now);
      if (!['pending_approval', 'active', 'suspended'].includes(status)) {
        throw new ConflictError(`the exception is ${status}; grant a new one instead`);
      }
      if (expiresAt <= current.expiresAt) {
        throw new RuleViolationError('a renewal must move expiresAt later');
      }
      if (expiresAt.getTime() > now.getTime() + this.config.exceptions.maxDays * DAY) {
        throw new RuleViolationError(`an exception may run at most ${this.config.exceptions.maxDays} days from now (EXCEPTION_MAX_DAYS)`);
      }
      if (status === 'pending_approval') {
        // Not yet approved: the approver will see the new window.
        return { action: 'exception.renewed', changes: { expiresAt } };
      }
      const reasons = approvalReasons(
        { scope: current.scope, override: current.override, addresses: current.addresses, durationMs: expiresAt.getTime() - now.getTime() },
        this.config.exceptions,
      );
      if (reasons.length > 0) {
        return {
          action: 'exception.renewal_requested',
          changes: { renewalExpiresAt: expiresAt, renewalRequestedBy: context.actor.id },
          extra: { approvalReasons: reasons },
        };
      }
      return { action: 'exception.renewed', changes: { expiresAt, renewalExpiresAt: null, renewalRequestedBy: null } };
    });
  }

  /** Records the end of every running exception past its expiry (it left the feed at that instant already). */
  async expireDue(limit = 500): Promise<number> {
    const ids = await this.exceptions.expiredRunning(this.clock.now(), limit);
    for (const id of ids) {
      await this.decide(id, undefined, { actor: WORKER }, async (_tx, current, now) => {
        if (effectiveStatus(current, now) !== 'expired' || current.status === 'expired') {
          return null; // renewed or ended meanwhile
        }
        return { action: 'exception.expired', changes: { status: 'expired' } };
      }).catch((error: unknown) => this.logger.error({ err: error, exceptionId: id }, 'could not record expiry'));
    }
    return ids.length;
  }

  private requireSecondPerson(requester: string | null, current: ExceptionRecord, actor: Actor): void {
    if (actor.id === null || actor.id === requester) {
      throw new ForbiddenActionError('a request must be decided by another key than the one that made it (four eyes)');
    }
    if (needsAdminApproval(current) && actor.role !== 'admin') {
      throw new ForbiddenActionError(`${current.override ? 'an override' : 'a helo exception'} must be decided by an admin`);
    }
  }

  /**
   * One decision: lock, check the version, let `rule` say what changes (or
   * refuse), write it with its audit event, and bump the feed when the
   * allowlist changes — all in one transaction.
   */
  private async decide(
    id: string,
    expectedVersion: number | undefined,
    context: ChangeContext,
    rule: (
      tx: Transaction,
      current: ExceptionRecord,
      now: Date,
    ) => Promise<{ action: string; changes: ExceptionChanges; extra?: Record<string, unknown> } | null>,
  ): Promise<Versioned<ExceptionView>> {
    const result = await this.exceptions.transaction(async (tx) => {
      const current = await this.exceptions.lockById(tx, id);
      if (!current) {
        throw new NotFoundError('exception');
      }
      if (expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new PreconditionFailedError();
      }
      const now = this.clock.now();
      const decision = await rule(tx, current, now);
      if (decision === null) {
        return { record: current, now };
      }
      const updated = await this.exceptions.update(tx, id, decision.changes);
      await this.audit.append(tx, {
        actor: context.actor,
        action: decision.action,
        entityType: 'exception',
        entityId: id,
        organizationId: current.organizationId,
        before: auditSnapshot(current, now),
        after: { ...auditSnapshot(updated, now), ...decision.extra },
        requestId: context.requestId,
      });
      if (altersFeed(current, updated)) {
        await bumpFeedVersion(tx);
      }
      return { record: updated, now };
    });
    return new Versioned(toExceptionView(result.record, result.now), result.record.version);
  }
}
