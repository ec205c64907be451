import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog, type Transaction } from '@app/database';
import { ResolverHealth, type DnsFanout } from '@app/dns';
import { HeloPassMetrics } from '@app/metrics';
import { DNS_FANOUT } from './dns.module.js';
import {
  Clock,
  ConflictError,
  cursorPosition,
  NotFoundError,
  PreconditionFailedError,
  RuleViolationError,
  toPage,
  Versioned,
  type Actor,
  type ChangeContext,
  type Page,
} from '@app/domain';
import { challengeRecordName, challengeValue, judgeChallenge, newChallengeToken, type ChallengeJudgement } from './challenge.js';
import { claimableDomainName } from './domain-name.js';
import { challengeExpired, decide, overrideActive, type DomainStatus, type LifecyclePolicy } from './domain-lifecycle.js';
import { DOMAIN_STATUS_LISTENER, type DomainStatusListener } from './domain-status-listener.js';
import { DomainsRepository, type DomainCheckRecord, type DomainRecord } from './domains.repository.js';

export interface DomainView {
  id: string;
  organizationId: string;
  name: string;
  status: DomainStatus;
  challenge: { recordName: string; recordType: 'TXT'; recordValue: string; expiresAt: Date };
  verifiedAt: Date | null;
  lastCheckedAt: Date | null;
  nextCheckAt: Date | null;
  /** The override in force (or past): who asked, who approved. */
  override: {
    justification: string;
    expiresAt: Date;
    by: string | null;
    owner: string | null;
    approvedBy: string | null;
    approvedByOwner: string | null;
    approvedAt: Date | null;
    active: boolean;
  } | null;
  /** An override requested and waiting for another admin's approval; the status does not change until then. */
  pendingOverride: {
    justification: string;
    expiresAt: Date;
    requestedBy: string | null;
    requestedByOwner: string | null;
    requestedAt: Date;
  } | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DomainCheckView {
  id: string;
  checkedAt: Date;
  trigger: string;
  outcome: string;
  recordName: string;
  resolvers: unknown;
  statusBefore: DomainStatus;
  statusAfter: DomainStatus;
  detail: string;
}

export interface VerificationResult {
  domain: DomainView;
  check: DomainCheckView;
}

export type CheckTrigger = 'verify' | 'retry' | 'recheck';

const WORKER: Actor = { id: null, name: 'system:worker', role: 'system', owner: null };

function toCheckView(record: DomainCheckRecord): DomainCheckView {
  const { domainId: _domainId, ...view } = record;
  return view;
}

/**
 * Domains an organization claims, and the DNS TXT challenge that proves it.
 * The API (verify now) and the worker (retries, re-checks) run the same
 * `check` path.
 */
@Injectable()
export class DomainsService {
  private readonly logger = new Logger(DomainsService.name);

  constructor(
    private readonly domains: DomainsRepository,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(DNS_FANOUT) private readonly dns: DnsFanout,
    private readonly resolverHealth: ResolverHealth,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    @Optional() @Inject(DOMAIN_STATUS_LISTENER) private readonly listener?: DomainStatusListener,
    @Optional() private readonly metrics?: HeloPassMetrics,
  ) {}

  private get policy(): LifecyclePolicy {
    const ownership = this.config.ownership;
    return {
      recheckIntervalMs: ownership.recheckIntervalHours * 3_600_000,
      lapseFailures: ownership.lapseFailures,
      lapseGraceMs: ownership.lapseGraceHours * 3_600_000,
      retryBaseMs: ownership.retryBaseSeconds * 1000,
    };
  }

  view(record: DomainRecord): DomainView {
    const provider = this.config.ownership.provider;
    const now = this.clock.now();
    return {
      id: record.id,
      organizationId: record.organizationId,
      name: record.name,
      status: record.status,
      challenge: {
        recordName: challengeRecordName(provider, record.name),
        recordType: 'TXT',
        recordValue: challengeValue(provider, record.challengeToken),
        expiresAt: record.challengeExpiresAt,
      },
      verifiedAt: record.verifiedAt,
      lastCheckedAt: record.lastCheckedAt,
      nextCheckAt: record.nextCheckAt,
      override:
        record.overrideJustification !== null && record.overrideExpiresAt !== null
          ? {
              justification: record.overrideJustification,
              expiresAt: record.overrideExpiresAt,
              by: record.overrideBy,
              owner: record.overrideByOwner,
              approvedBy: record.overrideApprovedBy,
              approvedByOwner: record.overrideApprovedByOwner,
              approvedAt: record.overrideApprovedAt,
              active: overrideActive(record, now),
            }
          : null,
      pendingOverride:
        record.pendingOverrideJustification !== null && record.pendingOverrideExpiresAt !== null && record.pendingOverrideRequestedAt !== null
          ? {
              justification: record.pendingOverrideJustification,
              expiresAt: record.pendingOverrideExpiresAt,
              requestedBy: record.pendingOverrideBy,
              requestedByOwner: record.pendingOverrideByOwner,
              requestedAt: record.pendingOverrideRequestedAt,
            }
          : null,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  async create(organizationId: string, input: { name: string }, context: ChangeContext): Promise<Versioned<DomainView>> {
    // Refused before any other rule: names that can never be proven, public suffixes.
    const name = claimableDomainName(input.name);
    const now = this.clock.now();
    const record = await this.domains.transaction(async (tx) => {
      if (!(await this.domains.organizationExists(tx, organizationId))) {
        throw new NotFoundError('organization');
      }
      if (await this.domains.findInOrganization(tx, organizationId, name)) {
        throw new ConflictError('the organization already claims this domain');
      }
      await this.refuseVerifiedElsewhere(tx, name, organizationId);
      const created = await this.domains.insert(tx, {
        organizationId,
        name,
        challengeToken: newChallengeToken(),
        challengeIssuedAt: now,
        challengeExpiresAt: new Date(now.getTime() + this.config.ownership.challengeTtlHours * 3_600_000),
        nextCheckAt: new Date(now.getTime() + this.policy.retryBaseMs),
      });
      await this.appendAudit(tx, 'domain.created', created, null, created, context);
      return created;
    });
    return new Versioned(this.view(record), record.version);
  }

  async get(id: string): Promise<Versioned<DomainView>> {
    const record = await this.domains.findById(id);
    if (!record) {
      throw new NotFoundError('domain');
    }
    return new Versioned(this.view(record), record.version);
  }

  async listForOrganization(organizationId: string, limit: number, cursor?: string): Promise<Page<DomainView>> {
    const after = cursorPosition(cursor);
    const exists = await this.domains.transaction((tx) => this.domains.organizationExists(tx, organizationId));
    if (!exists) {
      throw new NotFoundError('organization');
    }
    const rows = await this.domains.listForOrganization(organizationId, limit + 1, after);
    return toPage(rows, limit, (row) => this.view(row), (row) => ({ at: row.createdAt, id: row.id }));
  }

  async listChecks(domainId: string, limit: number, cursor?: string): Promise<Page<DomainCheckView>> {
    const after = cursorPosition(cursor);
    if (!(await this.domains.findById(domainId))) {
      throw new NotFoundError('domain');
    }
    const rows = await this.domains.listChecks(domainId, limit + 1, after);
    return toPage(rows, limit, toCheckView, (row) => ({ at: row.checkedAt, id: row.id }));
  }

  /** A fresh token: the old one stops counting at once. */
  async reissueChallenge(id: string, expectedVersion: number | undefined, context: ChangeContext): Promise<Versioned<DomainView>> {
    const now = this.clock.now();
    const record = await this.domains.transaction(async (tx) => {
      const current = await this.lock(tx, id, expectedVersion);
      const updated = await this.domains.update(tx, id, {
        challengeToken: newChallengeToken(),
        challengeIssuedAt: now,
        challengeExpiresAt: new Date(now.getTime() + this.config.ownership.challengeTtlHours * 3_600_000),
        // A failed domain gets another chance; a verified or lapsed one keeps its status.
        status: current.status === 'failed' ? 'pending' : current.status,
        retryCount: 0,
        nextCheckAt: new Date(now.getTime() + this.policy.retryBaseMs),
      });
      await this.appendAudit(tx, 'domain.challenge_issued', updated, current, updated, context);
      return updated;
    });
    return new Versioned(this.view(record), record.version);
  }

  /** Looks at the challenge record now, on a CSR's request. */
  async verify(id: string, context: ChangeContext): Promise<VerificationResult> {
    const current = await this.domains.findById(id);
    if (!current) {
      throw new NotFoundError('domain');
    }
    if (current.status === 'failed') {
      throw new RuleViolationError('the challenge has expired; issue a new one (POST /v1/domains/:id/challenge)');
    }
    return this.check(id, 'verify', context);
  }

  /** Every domain whose next look is due; what the worker runs on its schedule. */
  async runDue(limit = 100): Promise<number> {
    const ids = await this.domains.due(this.clock.now(), limit);
    for (const id of ids) {
      const domain = await this.domains.findById(id);
      if (!domain) {
        continue;
      }
      try {
        await this.check(id, domain.status === 'pending' ? 'retry' : 'recheck', { actor: WORKER });
      } catch (error) {
        // One domain's trouble must not stop the others.
        this.logger.error({ err: error, domainId: id }, 'domain check failed');
      }
    }
    return ids.length;
  }

  /**
   * One look at the challenge record. DNS is asked outside any transaction
   * (it may take seconds); the outcome is then applied to the row as it is
   * by then, under its lock, with the check, the status change and its audit
   * event in one transaction.
   */
  async check(id: string, trigger: CheckTrigger, context: ChangeContext): Promise<VerificationResult> {
    const before = await this.domains.findById(id);
    if (!before) {
      throw new NotFoundError('domain');
    }
    const provider = this.config.ownership.provider;
    const recordName = challengeRecordName(provider, before.name);
    const expired = challengeExpired(before, this.clock.now());
    let judgement: ChallengeJudgement | null = null;
    if (!expired) {
      const outcomes = await this.dns.txtFromEach(recordName);
      // A resolver's "no such name" counts only once it has found the canary (DNS_CANARY_NAME).
      const broken = await this.resolverHealth.brokenAmong(outcomes);
      judgement = judgeChallenge(outcomes, challengeValue(provider, before.challengeToken), broken);
    }

    const result = await this.domains.transaction(async (tx) => {
      const current = await this.lock(tx, id, undefined);
      const now = this.clock.now();
      // The token may have been replaced while DNS was asked: then the judgement is void.
      const stale = current.challengeToken !== before.challengeToken;
      const verdict = expired || !judgement || stale ? (challengeExpired(current, now) ? 'expired' : 'unreachable') : judgement.verdict;
      let transition = decide(current, verdict, now, this.policy);
      let detail = expired ? 'the challenge expired before the record was seen' : (judgement?.detail ?? '');
      if (stale) {
        detail = 'a new challenge was issued during this check; it will be looked at again';
      }
      const becomesVerified = transition.next.status === 'verified' && current.status !== 'verified';
      if (becomesVerified && (await this.domains.verifiedElsewhere(tx, current.name, current.organizationId))) {
        transition = { next: { ...current, nextCheckAt: transition.next.nextCheckAt }, event: null, outcome: transition.outcome };
        detail = 'the record is right, but another organization holds this domain verified';
        if (trigger === 'verify') {
          throw new ConflictError('another organization holds this domain verified');
        }
      }
      const { next } = transition;
      const updated = await this.domains.update(tx, id, {
        status: next.status,
        verifiedAt: next.verifiedAt,
        retryCount: next.retryCount,
        consecutiveFailures: next.consecutiveFailures,
        firstFailureAt: next.firstFailureAt,
        nextCheckAt: next.nextCheckAt,
        lastCheckedAt: now,
      });
      const check = await this.domains.insertCheck(tx, {
        domainId: id,
        checkedAt: now,
        trigger,
        outcome: transition.outcome,
        recordName,
        resolvers: judgement?.findings ?? [],
        statusBefore: current.status,
        statusAfter: updated.status,
        detail,
      });
      if (transition.event !== null) {
        await this.appendAudit(tx, `domain.${transition.event}`, updated, current, updated, context);
      }
      await this.statusChanged(tx, current, updated, context);
      return { domain: this.view(updated), check: toCheckView(check) };
    });
    // Counted once committed: a check rolled back (a conflict) is no check done.
    this.metrics?.dnsChecks.inc({ trigger, outcome: result.check.outcome });
    if (result.check.statusAfter === 'lapsed' && result.check.statusBefore !== 'lapsed') {
      this.metrics?.domainLapses.inc();
    }
    return result;
  }

  /**
   * What rests on a domain's status: the stored ownership evidence, and (via
   * the listener) exceptions. Also run by DomainOverridesService.
   */
  async statusChanged(tx: Transaction, before: DomainRecord, after: DomainRecord, context: ChangeContext): Promise<void> {
    if (before.status === after.status) {
      return;
    }
    await this.domains.markOwnershipStale(tx, after.organizationId);
    await this.listener?.onDomainStatusChanged(
      tx,
      { organizationId: after.organizationId, name: after.name, from: before.status, to: after.status },
      context,
    );
  }

  /** The domain under its row lock, at the version `If-Match` names (if any). */
  async lock(tx: Transaction, id: string, expectedVersion: number | undefined): Promise<DomainRecord> {
    const current = await this.domains.lockById(tx, id);
    if (!current) {
      throw new NotFoundError('domain');
    }
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError();
    }
    return current;
  }

  async refuseVerifiedElsewhere(tx: Transaction, name: string, organizationId: string): Promise<void> {
    if (await this.domains.verifiedElsewhere(tx, name, organizationId)) {
      throw new ConflictError('another organization holds this domain verified; it must lapse first');
    }
  }

  async appendAudit(
    tx: Transaction,
    action: string,
    record: DomainRecord,
    before: DomainRecord | null,
    after: DomainRecord,
    context: ChangeContext,
    extra?: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.append(tx, {
      actor: context.actor,
      action,
      entityType: 'domain',
      entityId: record.id,
      organizationId: record.organizationId,
      before: before ? this.view(before) : null,
      after: { ...this.view(after), ...extra },
      requestId: context.requestId,
    });
  }
}
