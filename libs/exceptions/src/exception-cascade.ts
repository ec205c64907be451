import { Injectable } from '@nestjs/common';
import { AuditLog, type Transaction } from '@app/database';
import { FeedChangeLog } from '@app/enforcement';
import { Clock, type ChangeContext } from '@app/domain';
import type { DomainStatusChange, DomainStatusListener } from '@app/ownership';
import { auditSnapshot } from './exception-view.js';
import type { ExceptionStatus } from './exception-rules.js';
import { ExceptionsRepository, type ExceptionRecord } from './exceptions.repository.js';
import { liftFor, suspendFor, type SuspensionChange } from './suspension.js';

/** The verified domains an exception's grant-time evidence rests on (none for an override). */
export function domainsReliedOn(record: Pick<ExceptionRecord, 'override' | 'scope' | 'evidence'>): string[] {
  if (record.override) {
    return [];
  }
  const evidence = record.evidence as {
    helo?: { domain?: string | null };
    addressEvidence?: { domain?: string | null }[];
  };
  const domains =
    record.scope === 'helo'
      ? [evidence.helo?.domain]
      : (evidence.addressEvidence ?? []).map((item) => item.domain);
  return [...new Set(domains.filter((domain): domain is string => typeof domain === 'string'))];
}

/**
 * What an organization's or a domain's change of status does to its
 * exceptions, inside the transaction of that change: suspending the
 * organization, or a lapse of a domain an exception's proof rests on,
 * suspends its active exceptions (and adds the cause to suspended ones);
 * reactivation or re-verification before expiry lifts that cause, and
 * restores the exceptions no other cause (a blocklist listing, say) holds.
 */
@Injectable()
export class ExceptionCascade implements DomainStatusListener {
  constructor(
    private readonly exceptions: ExceptionsRepository,
    private readonly audit: AuditLog,
    private readonly feed: FeedChangeLog,
    private readonly clock: Clock,
  ) {}

  suspendForOrganization(tx: Transaction, organizationId: string, context: ChangeContext): Promise<number> {
    return this.apply(tx, organizationId, ['active', 'suspended'], context, (record, now) => suspendFor(record, 'organization', now));
  }

  restoreForOrganization(tx: Transaction, organizationId: string, context: ChangeContext): Promise<number> {
    return this.apply(tx, organizationId, ['suspended'], context, (record) => liftFor(record, 'organization'));
  }

  async onDomainStatusChanged(tx: Transaction, change: DomainStatusChange, context: ChangeContext): Promise<void> {
    if (change.from === 'verified' && change.to !== 'verified') {
      await this.apply(tx, change.organizationId, ['active', 'suspended'], context, (record, now) =>
        domainsReliedOn(record).includes(change.name) ? suspendFor(record, 'domain', now) : null,
      );
    } else if (change.to === 'verified' && change.from !== 'verified') {
      const verified = new Set(await this.exceptions.verifiedDomainNames(tx, change.organizationId));
      verified.add(change.name);
      await this.apply(tx, change.organizationId, ['suspended'], context, (record) =>
        domainsReliedOn(record).every((domain) => verified.has(domain)) ? liftFor(record, 'domain') : null,
      );
    }
  }

  /** Applies `change` to the organization's exceptions in `statuses`; answers how many left or re-entered the allowlist. */
  private async apply(
    tx: Transaction,
    organizationId: string,
    statuses: readonly ExceptionStatus[],
    context: ChangeContext,
    change: (record: ExceptionRecord, now: Date) => SuspensionChange | null,
  ): Promise<number> {
    const now = this.clock.now();
    const moved: string[] = [];
    for (const record of await this.exceptions.lockOrganizationExceptions(tx, organizationId, statuses)) {
      // Past their expiry they are the worker's to close, not ours to move.
      const decided = record.expiresAt > now ? change(record, now) : null;
      if (decided === null) {
        continue;
      }
      const updated = await this.exceptions.update(tx, record.id, decided.changes);
      await this.audit.append(tx, {
        actor: context.actor,
        action: decided.action,
        entityType: 'exception',
        entityId: record.id,
        organizationId,
        before: auditSnapshot(record, now),
        after: auditSnapshot(updated, now),
        requestId: context.requestId,
      });
      if (updated.status !== record.status) {
        moved.push(record.id);
      }
    }
    if (moved.length > 0) {
      await this.feed.record(tx, moved);
    }
    return moved.length;
  }
}
