import type { Transaction } from '@app/database';
import type { ChangeContext } from '@app/domain';
import type { DomainStatus } from './domain-lifecycle.js';

export interface DomainStatusChange {
  organizationId: string;
  name: string;
  from: DomainStatus;
  to: DomainStatus;
}

/**
 * Told of every change of a domain's status, inside the transaction that
 * makes it (the exceptions module suspends and restores what rests on it).
 */
export interface DomainStatusListener {
  onDomainStatusChanged(tx: Transaction, change: DomainStatusChange, context: ChangeContext): Promise<void>;
}

export const DOMAIN_STATUS_LISTENER = Symbol('DOMAIN_STATUS_LISTENER');
