import { Inject, Injectable, Logger } from '@nestjs/common';
import pLimit from 'p-limit';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog } from '@app/database';
import { brokenResolverDetail, DnsChecks, ResolverHealth, type DnsOutcome, type MxRecord } from '@app/dns';
import { Clock, PreconditionFailedError, readHeloArgument, type Actor, type ChangeContext } from '@app/domain';
import { effectiveStatus, RUNNING_STATUSES } from './exception-rules.js';
import { auditSnapshot } from './exception-view.js';
import { ExceptionDecisionsService } from './exception-decisions.service.js';
import { ExceptionsRepository, type ExceptionRecord } from './exceptions.repository.js';
import {
  describeSighting,
  healingStep,
  heloHealth,
  lookupResult,
  type HeloHealth,
  type HeloLookupSeen,
  type HeloSighting,
} from './self-healing-rules.js';

const WORKER: Actor = { id: null, name: 'system:worker', role: 'system', owner: null };
const DAY = 86_400_000;
const HOUR = 3_600_000;
/**
 * Exceptions looked at per sweep (three lookups each, within DNS_CHECK_DEADLINE_MS),
 * a few at a time: a sweep with slow DNS stays well under a minute, so the
 * sweep's other work (expiries, domain checks) is not held up. The rest follow
 * at the next sweep.
 */
const SWEEP_BATCH = 60;
const SWEEP_CONCURRENCY = 8;
const SKIPPED: HeloLookupSeen = { status: 'skipped', records: [], resolver: null, error: null };

/** What a self-healing check saw and changed. */
export interface SelfHealingOutcome {
  health: HeloHealth;
  a: HeloLookupSeen;
  aaaa: HeloLookupSeen;
  mx: HeloLookupSeen;
  /** What it changed (audited), or null. */
  changed: 'marked_no_longer_needed' | 'needed_again' | 'revoked' | null;
  noLongerNeededSince: Date | null;
  /** When the worker revokes it if the name still passes then and nobody kept it. */
  revokesAt: Date | null;
}

function seen<T>(outcome: DnsOutcome<T>, show: (record: T) => string): HeloLookupSeen {
  return {
    status: outcome.status,
    records: outcome.status === 'ok' ? outcome.records.map(show) : [],
    resolver: outcome.resolver === '' ? null : outcome.resolver,
    error: 'error' in outcome ? outcome.error : null,
  };
}

const showMx = (record: MxRecord) => `${record.priority} ${record.exchange === '' ? '.' : record.exchange}`;

/**
 * Self-healing: an exception is a stopgap until the customer fixes the
 * server's HELO name. This looks the name up as Postfix's
 * `reject_unknown_helo_hostname` does (A, AAAA, MX) and judges it as
 * `reject_invalid_helo_hostname` does; once both would pass, the exception
 * is marked no longer needed (audited: `exception.no_longer_needed`, which the
 * outbox turns into a webhook event and an e-mail to the technical contacts),
 * and after SELF_HEALING_GRACE_DAYS of passing the worker revokes it — unless
 * a person chose to keep it until its expiry. DNS that cannot tell (timeout,
 * SERVFAIL, a resolver that does not find the canary) never counts as fixed,
 * and a name that fails again clears the mark.
 */
@Injectable()
export class SelfHealingService {
  private readonly logger = new Logger(SelfHealingService.name);

  constructor(
    private readonly exceptions: ExceptionsRepository,
    private readonly decisions: ExceptionDecisionsService,
    private readonly dnsChecks: DnsChecks,
    private readonly resolverHealth: ResolverHealth,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  private get graceMs(): number {
    return this.config.selfHealing.graceDays * DAY;
  }

  /** The worker's share: running exceptions not looked at for SELF_HEALING_CHECK_INTERVAL_HOURS. Answers how many were checked. */
  async checkDue(batch = SWEEP_BATCH): Promise<number> {
    const now = this.clock.now();
    const ids = await this.exceptions.heloCheckDue(now, new Date(now.getTime() - this.config.selfHealing.checkIntervalHours * HOUR), batch);
    const limit = pLimit(SWEEP_CONCURRENCY);
    await Promise.all(
      ids.map((id) =>
        limit(async () => {
          const record = await this.exceptions.findById(id);
          if (record) {
            await this.check(record, { actor: WORKER });
          }
        }).catch((error: unknown) => this.logger.error({ err: error, exceptionId: id }, 'could not record a self-healing check')),
      ),
    );
    return ids.length;
  }

  /** Looks the exception's HELO name up now (DNS outside the transaction) and applies what follows. */
  async check(record: ExceptionRecord, context: ChangeContext): Promise<SelfHealingOutcome> {
    const sighting = await this.look(record.heloHostname);
    const health = heloHealth(sighting);
    const { a, aaaa, mx } = sighting;
    const applied = await this.exceptions.transaction(async (tx) => {
      const current = await this.exceptions.lockById(tx, record.id);
      const now = this.clock.now();
      if (!current || !RUNNING_STATUSES.includes(effectiveStatus(current, now))) {
        return { step: null, current: current ?? record };
      }
      await this.exceptions.markHeloChecked(tx, current.id, now);
      const step = healingStep(health, { noLongerNeededSince: current.noLongerNeededSince, kept: current.keptAt !== null }, now, this.graceMs);
      if (step.kind === 'mark' || step.kind === 'clear') {
        const evidence = step.kind === 'mark' ? { checkedAt: now, heloHostname: current.heloHostname, a, aaaa, mx } : null;
        const updated = await this.exceptions.update(tx, current.id, {
          noLongerNeededSince: step.kind === 'mark' ? now : null,
          noLongerNeededEvidence: evidence,
        });
        await this.audit.append(tx, {
          actor: context.actor,
          action: step.kind === 'mark' ? 'exception.no_longer_needed' : 'exception.needed_again',
          entityType: 'exception',
          entityId: current.id,
          organizationId: current.organizationId,
          before: auditSnapshot(current, now),
          after: { ...auditSnapshot(updated, now), revokesAt: this.revokesAt(updated) },
          requestId: context.requestId,
        });
        return { step, current: updated };
      }
      return { step, current };
    });
    let current = applied.current;
    let changed: SelfHealingOutcome['changed'] =
      applied.step?.kind === 'mark' ? 'marked_no_longer_needed' : applied.step?.kind === 'clear' ? 'needed_again' : null;
    if (applied.step?.kind === 'revoke') {
      const since = current.noLongerNeededSince!;
      const reason =
        `no longer needed: the HELO name ${current.heloHostname} has passed Postfix's HELO checks since ${since.toISOString()} ` +
        `(seen now: ${describeSighting(sighting)}), and the ${this.config.selfHealing.graceDays}-day grace has passed`;
      try {
        // The same path as a person's revocation; the version makes sure nothing (a keep, say) came in between.
        await this.decisions.revoke(current.id, reason, current.version, { actor: WORKER, requestId: context.requestId });
        changed = 'revoked';
        current = (await this.exceptions.findById(current.id)) ?? current;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) {
          throw error;
        }
      }
    }
    return {
      health,
      a,
      aaaa,
      mx,
      changed,
      noLongerNeededSince: current.noLongerNeededSince,
      revokesAt: changed === 'revoked' ? null : this.revokesAt(current),
    };
  }

  private revokesAt(record: ExceptionRecord): Date | null {
    if (record.noLongerNeededSince === null || record.keptAt !== null) {
      return null;
    }
    return new Date(record.noLongerNeededSince.getTime() + this.graceMs);
  }

  /** The name's A, AAAA and MX records, as Postfix would ask for them (one check: one deadline). */
  private async look(heloHostname: string): Promise<HeloSighting> {
    const argument = readHeloArgument(heloHostname);
    const checkedAt = this.clock.now();
    if (argument.lookup === null) {
      return { heloHostname, checkedAt, a: SKIPPED, aaaa: SKIPPED, mx: SKIPPED, brokenResolver: null };
    }
    const name = argument.lookup;
    const dns = this.dnsChecks.begin();
    try {
      const [a, aaaa, mx] = await Promise.all([
        dns.a(name).then((outcome) => seen(outcome, String)),
        dns.aaaa(name).then((outcome) => seen(outcome, String)),
        dns.mx(name).then((outcome) => seen(outcome, showMx)),
      ]);
      let brokenResolver: string | null = null;
      const answers = [a, aaaa, mx];
      if (!answers.some((answer) => lookupResult(answer) === 'found')) {
        // "No such name" counts only from a resolver that finds the canary (DNS_CANARY_NAME).
        const broken = await this.resolverHealth.brokenAmong(answers);
        brokenResolver = broken.size > 0 ? brokenResolverDetail(broken.values()) : null;
      }
      return { heloHostname, checkedAt, a, aaaa, mx, brokenResolver };
    } finally {
      dns.end();
    }
  }
}
