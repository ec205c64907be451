import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import {
  Clock,
  ConflictError,
  ForbiddenActionError,
  personOf,
  RuleViolationError,
  Versioned,
  type ChangeContext,
} from '@app/domain';
import { DomainsRepository } from './domains.repository.js';
import { DomainsService, type DomainView } from './domains.service.js';

const MAX_OVERRIDE_DAYS = 365;
/** No override waiting. */
const CLEARED = {
  pendingOverrideJustification: null,
  pendingOverrideExpiresAt: null,
  pendingOverrideBy: null,
  pendingOverrideByOwner: null,
  pendingOverrideRequestedAt: null,
} as const;

/**
 * Domain overrides (DESIGN.md, Ownership §6): an admin may vouch for a domain
 * without DNS proof, with a justification and an expiry, but only as a
 * request. The domain's status does not change until another admin — another
 * owner, not another key of the same person — approves it; then it is
 * verified by override, and re-checks record what they find without undoing
 * it before it expires. Rejection ends the request. All three are audited.
 */
@Injectable()
export class DomainOverridesService {
  constructor(
    private readonly domains: DomainsRepository,
    private readonly lifecycle: DomainsService,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** Records the request; the domain stays as it was. */
  async request(
    id: string,
    input: { justification: string; expiresAt: Date },
    expectedVersion: number | undefined,
    context: ChangeContext,
  ): Promise<Versioned<DomainView>> {
    const requester = this.admin(context, 'request a domain override');
    const now = this.clock.now();
    if (input.expiresAt <= now) {
      throw new RuleViolationError('expiresAt must be in the future');
    }
    if (input.expiresAt.getTime() > now.getTime() + MAX_OVERRIDE_DAYS * 86_400_000) {
      throw new RuleViolationError(`an override lasts at most ${MAX_OVERRIDE_DAYS} days`);
    }
    const record = await this.domains.transaction(async (tx) => {
      const current = await this.lifecycle.lock(tx, id, expectedVersion);
      if (current.pendingOverrideJustification !== null) {
        throw new ConflictError('an override of this domain is already waiting for approval; approve or reject it first');
      }
      await this.lifecycle.refuseVerifiedElsewhere(tx, current.name, current.organizationId);
      const updated = await this.domains.update(tx, id, {
        pendingOverrideJustification: input.justification,
        pendingOverrideExpiresAt: input.expiresAt,
        pendingOverrideBy: requester.id,
        pendingOverrideByOwner: requester.owner,
        pendingOverrideRequestedAt: now,
      });
      await this.lifecycle.appendAudit(tx, 'domain.override_requested', updated, current, updated, context);
      return updated;
    });
    return new Versioned(this.lifecycle.view(record), record.version);
  }

  /** Another admin (another owner) puts the requested override in force: the domain becomes verified. */
  async approve(id: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<DomainView>> {
    const approver = this.admin(context, 'approve a domain override');
    const record = await this.domains.transaction(async (tx) => {
      const current = await this.lifecycle.lock(tx, id, expectedVersion);
      const pending = current.pendingOverrideJustification;
      if (pending === null || current.pendingOverrideExpiresAt === null || current.pendingOverrideByOwner === null) {
        throw new ConflictError('no override of this domain is waiting for approval');
      }
      this.requireOtherOwner(current.pendingOverrideByOwner, approver.owner);
      const now = this.clock.now();
      if (current.pendingOverrideExpiresAt <= now) {
        throw new RuleViolationError('the requested override has already expired; reject it and request a new one');
      }
      await this.lifecycle.refuseVerifiedElsewhere(tx, current.name, current.organizationId);
      const updated = await this.domains.update(tx, id, {
        status: 'verified',
        verifiedAt: current.status === 'verified' ? current.verifiedAt : now,
        overrideJustification: pending,
        overrideExpiresAt: current.pendingOverrideExpiresAt,
        overrideBy: current.pendingOverrideBy,
        overrideByOwner: current.pendingOverrideByOwner,
        overrideApprovedBy: approver.id,
        overrideApprovedByOwner: approver.owner,
        overrideApprovedAt: now,
        ...CLEARED,
        consecutiveFailures: 0,
        firstFailureAt: null,
        nextCheckAt: new Date(now.getTime() + this.config.ownership.recheckIntervalHours * 3_600_000),
      });
      await this.lifecycle.appendAudit(tx, 'domain.override_approved', updated, current, updated, context);
      await this.lifecycle.statusChanged(tx, current, updated, context);
      return updated;
    });
    return new Versioned(this.lifecycle.view(record), record.version);
  }

  /** Another admin ends the request, with a reason; the domain stays as it was. */
  async reject(id: string, reason: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<DomainView>> {
    const rejecter = this.admin(context, 'reject a domain override');
    const record = await this.domains.transaction(async (tx) => {
      const current = await this.lifecycle.lock(tx, id, expectedVersion);
      if (current.pendingOverrideJustification === null || current.pendingOverrideByOwner === null) {
        throw new ConflictError('no override of this domain is waiting for approval');
      }
      this.requireOtherOwner(current.pendingOverrideByOwner, rejecter.owner);
      const updated = await this.domains.update(tx, id, CLEARED);
      await this.lifecycle.appendAudit(tx, 'domain.override_rejected', updated, current, updated, context, { rejectionReason: reason });
      return updated;
    });
    return new Versioned(this.lifecycle.view(record), record.version);
  }

  private admin(context: ChangeContext, what: string): { id: string; owner: string } {
    const person = personOf(context.actor, what);
    if (context.actor.role !== 'admin') {
      throw new ForbiddenActionError(`only an admin may ${what}`);
    }
    return person;
  }

  private requireOtherOwner(requesterOwner: string, deciderOwner: string): void {
    if (requesterOwner === deciderOwner) {
      throw new ForbiddenActionError(
        'a domain override must be decided by another admin than the one who requested it (four eyes: every key of one owner is the same person)',
      );
    }
  }
}
