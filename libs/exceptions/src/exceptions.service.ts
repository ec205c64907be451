import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog, type Transaction } from '@app/database';
import type { BlocklistReport, ListedFinding } from '@app/dns';
import { FeedChangeLog } from '@app/enforcement';
import {
  Clock,
  personOf,
  ConflictError,
  cursorPosition,
  DomainError,
  NotFoundError,
  RuleViolationError,
  toPage,
  Versioned,
  type ChangeContext,
  type Page,
} from '@app/domain';
import { OwnershipService, type Evidence } from '@app/ownership';
import { describeListings, listingsAgainst, type AcceptedListing } from './blocklist-rules.js';
import { BlocklistScreening } from './blocklist-screening.js';
import { approvalReasons, grantWindow, needsAdminApproval, type ApprovalReason, type ExceptionScope } from './exception-rules.js';
import { auditSnapshot, toExceptionView, type ExceptionView } from './exception-view.js';
import { heloScopeRefusal, missingProof, restsOnSpfAlone } from './grant-proof.js';
import { ExceptionsRepository, type ExceptionFilter, type LiveServer } from './exceptions.repository.js';

/** What a grant would do, found by applying its rules without writing (`ExceptionsService.preview`). */
export interface GrantPreview {
  outcome: 'active' | 'pending_approval' | 'refused';
  /** The problem the grant would answer (the first one it meets), when refused. */
  refusal: DomainError | null;
  scope: ExceptionScope;
  startsAt: Date | null;
  expiresAt: Date | null;
  /** Why it would wait for a second person (worked out even when refused: what a fix would need). */
  approvalReasons: ApprovalReason[];
  /** Only an admin may approve it (override, helo scope, blocklisted). */
  adminApproval: boolean;
  /** Proof is missing or the server is on a blocklist: only an admin's justification can grant it. */
  justificationNeeded: boolean;
  missingProof: string[];
  /** The listings against the server, in words (null when none). */
  blocklistListings: string | null;
  evidence: Evidence;
}

interface GrantAssessment {
  scope: ExceptionScope;
  window: { startsAt: Date; expiresAt: Date } | null;
  /** Null only when a grant stopped at a bad window, before any lookup. */
  evidence: Evidence | null;
  missing: string[];
  override: boolean;
  blocklists: BlocklistReport | null;
  listed: ListedFinding[];
  reasons: ApprovalReason[];
  refusal: DomainError | null;
}

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

  /**
   * Every rule of a grant, in the order a grant applies them, without
   * writing anything: what `grant` would answer for this request now (active,
   * pending approval and why, or the problem it would refuse with). The
   * four-eyes reasons are worked out even when the grant would be refused, so
   * that a form can say what a fix (a justification, another scope) would need.
   */
  async preview(request: GrantRequest, context: ChangeContext): Promise<GrantPreview> {
    const assessment = await this.assess(request, context, true);
    let refusal = assessment.refusal;
    if (refusal === null && assessment.window !== null) {
      // The checks made under the server's lock at grant time, read without locking (and without writing).
      const evidence = assessment.evidence!;
      ({ refusal } = await this.exceptions.transaction((tx) => this.conflict(tx, request.mailServerId, assessment.scope, evidence, this.clock.now(), false)));
    }
    return {
      outcome: refusal !== null ? 'refused' : assessment.reasons.length > 0 ? 'pending_approval' : 'active',
      refusal,
      scope: assessment.scope,
      startsAt: assessment.window?.startsAt ?? null,
      expiresAt: assessment.window?.expiresAt ?? null,
      approvalReasons: assessment.reasons,
      adminApproval: needsAdminApproval({ scope: assessment.scope, override: assessment.override, approvalReasons: assessment.reasons }),
      justificationNeeded: assessment.override || assessment.listed.length > 0,
      missingProof: assessment.missing,
      blocklistListings: assessment.listed.length > 0 ? describeListings(assessment.listed) : null,
      evidence: assessment.evidence!,
    };
  }

  async grant(request: GrantRequest, context: ChangeContext): Promise<Versioned<ExceptionView>> {
    const requester = personOf(context.actor, 'request an exception');
    const assessment = await this.assess(request, context, false);
    if (assessment.refusal !== null) {
      throw assessment.refusal;
    }
    const { scope, evidence, override, blocklists, listed, reasons } = assessment;
    const window = assessment.window!;
    const blocklisted = listed.length > 0;
    const now = this.clock.now();
    const record = await this.exceptions.transaction(async (tx) => {
      const { server, refusal } = await this.conflict(tx, request.mailServerId, scope, evidence!, now, true);
      if (refusal !== null) {
        throw refusal;
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

  /**
   * The rules a grant applies before its transaction: the window, the
   * ownership gate (fresh evidence from DNS), the DNS blocklists and the
   * four-eyes reasons. `refusal` is the first problem found, in the order a
   * grant meets them; a grant stops there, a preview (`thorough`) goes on to
   * work out what it can. An unknown mail server is a 404 either way.
   */
  private async assess(request: GrantRequest, context: ChangeContext, thorough: boolean): Promise<GrantAssessment> {
    const scope = request.scope ?? 'pair';
    personOf(context.actor, 'request an exception');
    const now = this.clock.now();
    let refusal: DomainError | null = null;
    const refuse = (problem: DomainError) => {
      refusal ??= problem;
    };
    const window = grantWindow(request, now, this.config.exceptions);
    if ('problem' in window) {
      refuse(new RuleViolationError(window.problem));
    }
    const validWindow = 'problem' in window ? null : window;
    // Fresh evidence, from DNS now (outside the transaction: lookups take time).
    // A preview (thorough) leaves the server's recorded evidence alone: it writes nothing.
    const evidence = refusal !== null && !thorough ? null : await this.ownership.check(request.mailServerId, { store: !thorough });
    if (evidence === null) {
      return { scope, window: validWindow, evidence, missing: [], override: false, blocklists: null, listed: [], reasons: [], refusal };
    }
    const scopeRefusal = heloScopeRefusal(scope, evidence.heloHostname);
    if (scopeRefusal !== null) {
      refuse(new RuleViolationError(scopeRefusal));
    }
    const missing = missingProof(scope, evidence);
    const override = missing.length > 0;
    if (override) {
      if (request.justification === undefined) {
        refuse(new RuleViolationError(`ownership is not proven for this ${scope} exception: ${missing.join('; ')}`));
      } else if (context.actor.role !== 'admin') {
        refuse(new RuleViolationError('only an admin may grant without proof of ownership (with a justification)'));
      }
    }
    if (refusal !== null && !thorough) {
      return { scope, window: validWindow, evidence, missing, override, blocklists: null, listed: [], reasons: [], refusal };
    }
    // "Not used for illegitimate email": the addresses and the HELO name in the configured blocklists.
    const blocklists = await this.screening.check(evidence);
    const listed = listingsAgainst(blocklists, null);
    const blocklisted = listed.length > 0;
    if (blocklisted) {
      if (request.justification === undefined) {
        refuse(new RuleViolationError(`the mail server is on a DNS blocklist: ${describeListings(listed)}`));
      } else if (context.actor.role !== 'admin') {
        refuse(new RuleViolationError('only an admin may grant for a mail server on a DNS blocklist (with a justification)'));
      }
    }
    const reasons = approvalReasons(
      {
        scope,
        override,
        blocklisted,
        spfOnly: restsOnSpfAlone(scope, evidence),
        addresses: evidence.addresses,
        // Without a valid window there is no duration to judge (the window's problem is the answer).
        durationMs: validWindow === null ? 0 : validWindow.expiresAt.getTime() - validWindow.startsAt.getTime(),
      },
      this.config.exceptions,
    );
    if (context.actor.role === 'customer') {
      // Self-service asks; a CSR (another person, by construction) decides.
      reasons.push('customer_request');
    }
    return { scope, window: validWindow, evidence, missing, override, blocklists, listed, reasons, refusal };
  }

  /**
   * What the grant's transaction refuses: the server gone, its organization
   * suspended, the server changed since its evidence was read, a running
   * exception of the same scope. `lock` takes the server's row lock (a grant);
   * a preview only reads.
   */
  private async conflict(
    tx: Transaction,
    mailServerId: string,
    scope: ExceptionScope,
    evidence: Evidence,
    now: Date,
    lock: boolean,
  ): Promise<{ server: LiveServer; refusal: null } | { server: null; refusal: DomainError }> {
    const server = lock ? await this.exceptions.lockLiveServer(tx, mailServerId) : await this.exceptions.liveServer(tx, mailServerId);
    const refused = (refusal: DomainError) => ({ server: null, refusal });
    if (!server) {
      return refused(new NotFoundError('mail server'));
    }
    if ((await this.exceptions.organizationStatus(tx, server.organizationId)) !== 'active') {
      return refused(new RuleViolationError('the organization is suspended; reactivate it first'));
    }
    if (server.heloHostname !== evidence.heloHostname || server.addresses.join() !== evidence.addresses.join()) {
      return refused(new ConflictError('the mail server changed while its ownership was checked; try again'));
    }
    if (await this.exceptions.runningFor(tx, server.id, scope, now)) {
      return refused(new ConflictError(`the mail server already has a ${scope} exception that is pending, active or suspended`));
    }
    return { server, refusal: null };
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
