import { Injectable } from '@nestjs/common';
import { AuditLog, type Transaction } from '@app/database';
import { Clock, type ChangeContext } from '@app/domain';
import type { DomainStatusChange, DomainStatusListener } from '@app/ownership';
import { auditSnapshot } from './exception-view.js';
import { ExceptionsRepository, type ExceptionChanges, type ExceptionRecord } from './exceptions.repository.js';
import { bumpFeedVersion } from './feed-version.js';

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
 * suspends its active exceptions; reactivation or re-verification before
 * expiry restores the ones it suspended.
 */
@Injectable()
export class ExceptionCascade implements DomainStatusListener {
  constructor(
    private readonly exceptions: ExceptionsRepository,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  suspendForOrganization(tx: Transaction, organizationId: string, context: ChangeContext): Promise<number> {
    return this.apply(tx, organizationId, 'active', context, () => true, 'exception.suspended', (now) => ({
      status: 'suspended',
      suspensionCause: 'organization',
      suspendedAt: now,
    }));
  }

  restoreForOrganization(tx: Transaction, organizationId: string, context: ChangeContext): Promise<number> {
    return this.apply(
      tx,
      organizationId,
      'suspended',
      context,
      (record) => record.suspensionCause === 'organization',
      'exception.restored',
      () => ({ status: 'active', suspensionCause: null, suspendedAt: null }),
    );
  }

  async onDomainStatusChanged(tx: Transaction, change: DomainStatusChange, context: ChangeContext): Promise<void> {
    if (change.from === 'verified' && change.to !== 'verified') {
      await this.apply(
        tx,
        change.organizationId,
        'active',
        context,
        (record) => domainsReliedOn(record).includes(change.name),
        'exception.suspended',
        (now) => ({ status: 'suspended', suspensionCause: 'domain', suspendedAt: now }),
      );
    } else if (change.to === 'verified' && change.from !== 'verified') {
      const verified = new Set(await this.exceptions.verifiedDomainNames(tx, change.organizationId));
      verified.add(change.name);
      await this.apply(
        tx,
        change.organizationId,
        'suspended',
        context,
        (record) => record.suspensionCause === 'domain' && domainsReliedOn(record).every((domain) => verified.has(domain)),
        'exception.restored',
        () => ({ status: 'active', suspensionCause: null, suspendedAt: null }),
      );
    }
  }

  private async apply(
    tx: Transaction,
    organizationId: string,
    from: 'active' | 'suspended',
    context: ChangeContext,
    applies: (record: ExceptionRecord) => boolean,
    action: string,
    changes: (now: Date) => ExceptionChanges,
  ): Promise<number> {
    const now = this.clock.now();
    // Past their expiry they are the worker's to close, not ours to move.
    const affected = (await this.exceptions.lockOrganizationExceptions(tx, organizationId, from)).filter(
      (record) => record.expiresAt > now && applies(record),
    );
    for (const record of affected) {
      const updated = await this.exceptions.update(tx, record.id, changes(now));
      await this.audit.append(tx, {
        actor: context.actor,
        action,
        entityType: 'exception',
        entityId: record.id,
        organizationId,
        before: auditSnapshot(record, now),
        after: auditSnapshot(updated, now),
        requestId: context.requestId,
      });
    }
    if (affected.length > 0) {
      await bumpFeedVersion(tx);
    }
    return affected.length;
  }
}
