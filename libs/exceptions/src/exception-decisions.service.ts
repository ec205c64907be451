import { Inject, Injectable, Logger } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog, type Transaction } from '@app/database';
import { FeedChangeLog } from '@app/enforcement';
import {
  Clock,
  personOf,
  ConflictError,
  ForbiddenActionError,
  NotFoundError,
  PreconditionFailedError,
  RuleViolationError,
  Versioned,
  type Actor,
  type ChangeContext,
} from '@app/domain';
import { OwnershipService, type Evidence } from '@app/ownership';
import { BlocklistChecksRepository } from './blocklist-checks.repository.js';
import { describeListings, listingsAgainst, type AcceptedListing } from './blocklist-rules.js';
import { BlocklistScreening } from './blocklist-screening.js';
import { approvalReasons, effectiveStatus, needsAdminApproval, RUNNING_STATUSES } from './exception-rules.js';
import { auditSnapshot, toExceptionView, type ExceptionView } from './exception-view.js';
import { ExceptionsRepository, type ExceptionChanges, type ExceptionRecord } from './exceptions.repository.js';
import { heloScopeRefusal, missingProof, restsOnSpfAlone, serverChanges } from './grant-proof.js';

const DAY = 86_400_000;
const WORKER: Actor = { id: null, name: 'system:worker', role: 'system', owner: null };

/** Whether the change moves the exception into or out of the allowlist, or changes its end while in it. */
export function altersFeed(before: ExceptionRecord, after: ExceptionRecord): boolean {
  const listed = (record: ExceptionRecord) => record.status === 'active';
  return listed(before) !== listed(after) || (listed(after) && before.expiresAt.getTime() !== after.expiresAt.getTime());
}

/** What a decision would decide: the grant itself, or a renewal of a running exception (409 when neither waits). */
function pendingKind(current: ExceptionRecord, now: Date): 'grant' | 'renewal' {
  const status = effectiveStatus(current, now);
  if (status === 'pending_approval') {
    return 'grant';
  }
  if (current.renewalExpiresAt !== null && (status === 'active' || status === 'suspended')) {
    return 'renewal';
  }
  throw new ConflictError(`the exception is ${status}, not waiting for approval`);
}

/** Drops a renewal still waiting for approval (the record of the last approved one stays). */
function withoutPendingRenewal(current: ExceptionRecord): ExceptionChanges {
  return current.renewalExpiresAt === null
    ? {}
    : { renewalExpiresAt: null, renewalRequestedBy: null, renewalRequestedByOwner: null, renewalApprovalReasons: [] };
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
    private readonly ownership: OwnershipService,
    private readonly screening: BlocklistScreening,
    private readonly blocklistChecks: BlocklistChecksRepository,
    private readonly audit: AuditLog,
    private readonly feed: FeedChangeLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /**
   * Approves a pending grant, or a pending renewal. The approver must be
   * another person (owner) than the requester. The mail server must still
   * announce the granted HELO name and hold exactly the granted addresses,
   * and (unless the grant is an override, which rests on its justification)
   * what the scope needs must still be proven: the evidence is recomputed
   * from DNS first, outside the transaction, like a grant's. A grant is
   * looked up in the DNS blocklists again too: a listing that its override
   * did not accept refuses the approval.
   */
  async approve(id: string, expectedVersion: number | undefined, context: ChangeContext, note?: string): Promise<Versioned<ExceptionView>> {
    const before = await this.exceptions.findById(id);
    if (!before) {
      throw new NotFoundError('exception');
    }
    // What needs no DNS is refused before any lookup (and checked again under the lock).
    const kind = pendingKind(before, this.clock.now());
    this.requireSecondPerson(kind === 'renewal' ? before.renewalRequestedByOwner : before.requestedByOwner, before, context.actor);
    const evidence = before.override ? null : await this.freshEvidence(before.mailServerId);
    const blocklists = kind === 'grant' ? await this.screening.check(before) : null;
    return this.decide(id, expectedVersion, context, async (tx, current, now) => {
      const renewal = pendingKind(current, now) === 'renewal';
      const approver = this.requireSecondPerson(renewal ? current.renewalRequestedByOwner : current.requestedByOwner, current, context.actor);
      await this.recheckServer(tx, current, evidence);
      if (!renewal && blocklists !== null) {
        const listed = listingsAgainst(blocklists, current.blocklistAccepted as AcceptedListing[] | null);
        if (listed.length > 0) {
          throw new RuleViolationError(
            `the mail server is on a DNS blocklist (${describeListings(listed)}); reject this request, or have an admin grant anew with a justification`,
          );
        }
        await this.blocklistChecks.record(tx, current.id, now, blocklists);
      }
      if (renewal) {
        return {
          action: 'exception.renewal_approved',
          changes: {
            expiresAt: current.renewalExpiresAt!,
            renewalExpiresAt: null,
            renewalApprovalReasons: [],
            renewalApprovedBy: approver.id,
            renewalApprovedByOwner: approver.owner,
            renewalApprovedAt: now,
          },
          // The exception's own approvalNote is its grant's: a renewal's reason lives in its event.
          extra: note === undefined ? undefined : { decisionReason: note },
        };
      }
      const organization = await this.exceptions.organizationStatus(tx, current.organizationId);
      return {
        action: 'exception.approved',
        changes: {
          status: organization === 'active' ? 'active' : 'suspended',
          suspensionCauses: organization === 'active' ? [] : ['organization'],
          suspendedAt: organization === 'active' ? null : now,
          approvedBy: approver.id,
          approvedByOwner: approver.owner,
          approvedAt: now,
          approvalNote: note ?? null,
        },
      };
    });
  }

  /** Rejects a pending grant (or a pending renewal, which leaves the exception as it was). */
  reject(id: string, reason: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    return this.decide(id, expectedVersion, context, async (_tx, current, now) => {
      const renewal = pendingKind(current, now) === 'renewal';
      const rejecter = this.requireSecondPerson(renewal ? current.renewalRequestedByOwner : current.requestedByOwner, current, context.actor);
      if (renewal) {
        return { action: 'exception.renewal_rejected', changes: withoutPendingRenewal(current), extra: { decisionReason: reason } };
      }
      return {
        action: 'exception.rejected',
        changes: { status: 'rejected', rejectedBy: rejecter.id, rejectedByOwner: rejecter.owner, rejectedAt: now, rejectionReason: reason },
      };
    });
  }

  /** Ends an exception now, with a reason. */
  revoke(id: string, reason: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    return this.decide(id, expectedVersion, context, async (_tx, current, now) => {
      const status = effectiveStatus(current, now);
      if (!RUNNING_STATUSES.includes(status)) {
        throw new ConflictError(`the exception is already ${status}`);
      }
      return {
        action: 'exception.revoked',
        changes: { status: 'revoked', revokedBy: context.actor.id, revokedAt: now, revokeReason: reason, ...withoutPendingRenewal(current) },
      };
    });
  }

  /**
   * A person's choice to let a running exception run until its expiry even
   * though its HELO name passes Postfix's checks by itself: self-healing then
   * never revokes it. Choosing again replaces the reason.
   */
  keepUntilExpiry(id: string, reason: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    const keeper = personOf(context.actor, 'keep an exception');
    return this.decide(id, expectedVersion, context, async (_tx, current, now) => {
      const status = effectiveStatus(current, now);
      if (!RUNNING_STATUSES.includes(status)) {
        throw new ConflictError(`the exception is ${status}; there is nothing to keep`);
      }
      return { action: 'exception.kept', changes: { keptReason: reason, keptBy: keeper.id, keptByOwner: keeper.owner, keptAt: now } };
    });
  }

  /**
   * Extends an exception, within the maximum. A renewal the four-eyes rules
   * name (override, helo scope, SPF-only proof, wide prefix, long duration)
   * waits for another person's approval; meanwhile the exception runs on
   * until its current expiry.
   */
  renew(id: string, expiresAt: Date, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    const requester = personOf(context.actor, 'renew an exception');
    return this.decide(id, expectedVersion, context, async (_tx, current, now) => {
      const status = effectiveStatus(current, now);
      if (!RUNNING_STATUSES.includes(status)) {
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
        {
          scope: current.scope,
          override: current.override,
          spfOnly: restsOnSpfAlone(current.scope, current.evidence as Pick<Evidence, 'addressEvidence'>),
          blocklisted: current.blocklistAccepted !== null,
          addresses: current.addresses,
          durationMs: expiresAt.getTime() - now.getTime(),
        },
        this.config.exceptions,
      );
      if (reasons.length > 0) {
        return {
          action: 'exception.renewal_requested',
          changes: {
            renewalExpiresAt: expiresAt,
            renewalRequestedBy: requester.id,
            renewalRequestedByOwner: requester.owner,
            renewalApprovalReasons: reasons,
            renewalApprovedBy: null,
            renewalApprovedByOwner: null,
            renewalApprovedAt: null,
          },
          extra: { approvalReasons: reasons },
        };
      }
      return {
        action: 'exception.renewed',
        changes: {
          expiresAt,
          renewalExpiresAt: null,
          renewalRequestedBy: null,
          renewalRequestedByOwner: null,
          renewalApprovalReasons: [],
          renewalApprovedBy: null,
          renewalApprovedByOwner: null,
          renewalApprovedAt: null,
        },
      };
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

  /**
   * The decider: a person other than the requester (owners compared, so a
   * second key of the same person decides nothing), and an admin for
   * overrides and helo exceptions.
   */
  private requireSecondPerson(requesterOwner: string | null, current: ExceptionRecord, actor: Actor): { id: string; owner: string } {
    const decider = personOf(actor, 'decide a request');
    if (requesterOwner === null || decider.owner === requesterOwner) {
      throw new ForbiddenActionError(
        'a request must be decided by another person than the one who made it (four eyes: every key of one owner is the same person)',
      );
    }
    if (needsAdminApproval(current) && actor.role !== 'admin') {
      throw new ForbiddenActionError(`${current.scope === 'helo' && !current.override ? 'a helo exception' : 'an override'} must be decided by an admin`);
    }
    return decider;
  }

  /** The server's evidence recomputed now; null when the server is gone (the re-check then says so). */
  private async freshEvidence(mailServerId: string): Promise<Evidence | null> {
    try {
      return await this.ownership.check(mailServerId);
    } catch (error) {
      if (error instanceof NotFoundError) {
        return null;
      }
      throw error;
    }
  }

  /**
   * Under the server's lock: it still announces the exception's HELO name and
   * holds exactly its addresses, a helo exception names no public suffix, and
   * (but for an override) `evidence` still proves what the scope needs.
   */
  private async recheckServer(tx: Transaction, current: ExceptionRecord, evidence: Evidence | null): Promise<void> {
    const server = await this.exceptions.lockLiveServer(tx, current.mailServerId);
    const changes = serverChanges(current, server);
    if (changes.length > 0) {
      throw new RuleViolationError(
        `the mail server changed since the request: ${changes.join('; ')}; revoke this exception and grant a new one`,
      );
    }
    const refusal = heloScopeRefusal(current.scope, current.heloHostname);
    if (refusal !== null) {
      throw new RuleViolationError(refusal);
    }
    if (current.override) {
      return;
    }
    if (!evidence || !server || evidence.heloHostname !== server.heloHostname || evidence.addresses.join() !== server.addresses.join()) {
      throw new ConflictError('the mail server changed while its ownership was checked; try again');
    }
    const missing = missingProof(current.scope, evidence);
    if (missing.length > 0) {
      throw new RuleViolationError(`ownership is no longer proven as this ${current.scope} exception needs: ${missing.join('; ')}`);
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
        await this.feed.record(tx, [id]);
      }
      return { record: updated, now };
    });
    return new Versioned(toExceptionView(result.record, result.now), result.record.version);
  }
}
