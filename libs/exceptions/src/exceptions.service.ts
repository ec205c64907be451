import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog } from '@app/database';
import { FeedChangeLog } from '@app/enforcement';
import {
  Clock,
  personOf,
  ConflictError,
  cursorPosition,
  NotFoundError,
  RuleViolationError,
  toPage,
  Versioned,
  type ChangeContext,
  type Page,
} from '@app/domain';
import { OwnershipService } from '@app/ownership';
import { describeListings, listingsAgainst, type AcceptedListing } from './blocklist-rules.js';
import { BlocklistScreening } from './blocklist-screening.js';
import { approvalReasons, grantWindow, type ExceptionScope } from './exception-rules.js';
import { auditSnapshot, toExceptionView, type ExceptionView } from './exception-view.js';
import { heloScopeRefusal, missingProof, restsOnSpfAlone } from './grant-proof.js';
import { ExceptionsRepository, type ExceptionFilter } from './exceptions.repository.js';

export interface GrantRequest {
  mailServerId: string;
  scope?: ExceptionScope;
  reason: string;
  ticketRef?: string;
  startsAt?: Date;
  expiresAt?: Date;
  /** An admin's reason to grant without proof of ownership, or for a blocklisted server (an override, approved by another admin). */
  justification?: string;
}

/**
 * Granting exceptions. A grant needs the ownership the scope relies on to be
 * proven (DESIGN.md §5), or an admin's justification (an override); grants
 * that the four-eyes rules name wait for a second person's approval.
 */
@Injectable()
export class ExceptionsService {
  constructor(
    private readonly exceptions: ExceptionsRepository,
    private readonly ownership: OwnershipService,
    private readonly screening: BlocklistScreening,
    private readonly audit: AuditLog,
    private readonly feed: FeedChangeLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  async grant(request: GrantRequest, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    const scope = request.scope ?? 'pair';
    const requester = personOf(context.actor, 'request an exception');
    const now = this.clock.now();
    const window = grantWindow(request, now, this.config.exceptions);
    if ('problem' in window) {
      throw new RuleViolationError(window.problem);
    }
    // Fresh evidence, from DNS now (outside the transaction: lookups take time).
    const evidence = await this.ownership.check(request.mailServerId);
    const refusal = heloScopeRefusal(scope, evidence.heloHostname);
    if (refusal !== null) {
      throw new RuleViolationError(refusal);
    }
    const missing = missingProof(scope, evidence);
    const override = missing.length > 0;
    if (override) {
      if (request.justification === undefined) {
        throw new RuleViolationError(`ownership is not proven for this ${scope} exception: ${missing.join('; ')}`);
      }
      if (context.actor.role !== 'admin') {
        throw new RuleViolationError('only an admin may grant without proof of ownership (with a justification)');
      }
    }
    // "Not used for illegitimate email": the addresses and the HELO name in the configured blocklists.
    const blocklists = await this.screening.check(evidence);
    const listed = listingsAgainst(blocklists, null);
    const blocklisted = listed.length > 0;
    if (blocklisted) {
      if (request.justification === undefined) {
        throw new RuleViolationError(`the mail server is on a DNS blocklist: ${describeListings(listed)}`);
      }
      if (context.actor.role !== 'admin') {
        throw new RuleViolationError('only an admin may grant for a mail server on a DNS blocklist (with a justification)');
      }
    }
    const reasons = approvalReasons(
      {
        scope,
        override,
        blocklisted,
        spfOnly: restsOnSpfAlone(scope, evidence),
        addresses: evidence.addresses,
        durationMs: window.expiresAt.getTime() - window.startsAt.getTime(),
      },
      this.config.exceptions,
    );
    if (context.actor.role === 'customer') {
      // Self-service asks; a CSR (another person, by construction) decides.
      reasons.push('customer_request');
    }
    const record = await this.exceptions.transaction(async (tx) => {
      const server = await this.exceptions.lockLiveServer(tx, request.mailServerId);
      if (!server) {
        throw new NotFoundError('mail server');
      }
      if ((await this.exceptions.organizationStatus(tx, server.organizationId)) !== 'active') {
        throw new RuleViolationError('the organization is suspended; reactivate it first');
      }
      if (server.heloHostname !== evidence.heloHostname || server.addresses.join() !== evidence.addresses.join()) {
        throw new ConflictError('the mail server changed while its ownership was checked; try again');
      }
      if (await this.exceptions.runningFor(tx, server.id, scope, now)) {
        throw new ConflictError(`the mail server already has a ${scope} exception that is pending, active or suspended`);
      }
      const created = await this.exceptions.insert(tx, {
        organizationId: server.organizationId,
        mailServerId: server.id,
        scope,
        status: reasons.length > 0 ? 'pending_approval' : 'active',
        reason: request.reason,
        ticketRef: request.ticketRef ?? null,
        startsAt: window.startsAt,
        expiresAt: window.expiresAt,
        heloHostname: server.heloHostname,
        addresses: server.addresses,
        override,
        justification: override || blocklisted ? (request.justification ?? null) : null,
        approvalReasons: reasons,
        evidence,
        blocklistCheckedAt: now,
        blocklistResult: blocklists,
        blocklistAccepted: blocklisted ? listed.map(({ subject, zone, answers }): AcceptedListing => ({ subject, zone, answers })) : null,
        requestedBy: requester.id,
        requestedByName: context.actor.name,
        requestedByOwner: requester.owner,
      });
      await this.audit.append(tx, {
        actor: context.actor,
        action: created.status === 'active' ? 'exception.granted' : 'exception.requested',
        entityType: 'exception',
        entityId: created.id,
        organizationId: created.organizationId,
        after: auditSnapshot(created, now, true),
        requestId: context.requestId,
      });
      if (created.status === 'active') {
        await this.feed.record(tx, [created.id]);
      }
      return created;
    });
    return new Versioned(toExceptionView(record, now), record.version);
  }

  async get(id: string): Promise<Versioned<ExceptionView>> {
    const record = await this.exceptions.findById(id);
    if (!record) {
      throw new NotFoundError('exception');
    }
    return new Versioned(toExceptionView(record, this.clock.now()), record.version);
  }

  async list(filter: ExceptionFilter, limit: number, cursor?: string): Promise<Page<ExceptionView>> {
    const after = cursorPosition(cursor);
    const now = this.clock.now();
    const rows = await this.exceptions.list(filter, now, limit + 1, after);
    return toPage(rows, limit, (row) => toExceptionView(row, now), (row) => ({ at: row.createdAt, id: row.id }));
  }

  /** What the map renderings let through for this HELO name and client address (diagnostics; see the repository). */
  mapCoverage(heloHostname: string | null, address: string | null) {
    return this.exceptions.mapCoverage(heloHostname, address, this.clock.now());
  }

  /** Exceptions in effect now that let this HELO name and client address pass (diagnostics). */
  async covering(heloHostname: string | null, address: string | null): Promise<ExceptionView[]> {
    const now = this.clock.now();
    return (await this.exceptions.covering(heloHostname, address, now)).map((row) => toExceptionView(row, now));
  }
}
