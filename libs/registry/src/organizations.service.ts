import { Injectable } from '@nestjs/common';
import { AuditLog } from '@app/database';
import { ExceptionCascade } from '@app/exceptions';
import {
  cursorPosition,
  NotFoundError,
  PreconditionFailedError,
  toPage,
  Versioned,
  type ChangeContext as RequestContext,
  type Page,
} from '@app/domain';
import {
  OrganizationsRepository,
  type OrganizationChanges,
  type OrganizationFilter,
  type OrganizationRecord,
} from './organizations.repository.js';

export interface Organization {
  id: string;
  name: string;
  customerRef: string | null;
  status: 'active' | 'suspended';
  notes: string | null;
  /** Told of what concerns the organization (reminders, lapses…) when e-mail is configured. */
  technicalContacts: string[];
  createdAt: Date;
  updatedAt: Date;
}

function toOrganization(record: OrganizationRecord): Organization {
  return {
    id: record.id,
    name: record.name,
    customerRef: record.customerRef,
    status: record.status,
    notes: record.notes,
    technicalContacts: record.technicalContacts,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** E-mail addresses as stored: trimmed, lowercased, each once, in the order given. */
function normalizeContacts(contacts: string[]): string[] {
  return [...new Set(contacts.map((contact) => contact.trim().toLowerCase()))];
}

function sameValue(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((item, index) => item === b[index]) : a === b;
}

/** Customer organizations. Never deleted: suspension is how one leaves service. */
@Injectable()
export class OrganizationsService {
  constructor(
    private readonly organizations: OrganizationsRepository,
    private readonly audit: AuditLog,
    private readonly cascade: ExceptionCascade,
  ) {}

  async create(
    input: { name: string; customerRef?: string; notes?: string; technicalContacts?: string[] },
    context: RequestContext,
  ): Promise<Versioned<Organization>> {
    const technicalContacts = input.technicalContacts === undefined ? undefined : normalizeContacts(input.technicalContacts);
    const created = await this.organizations.transaction(async (tx) => {
      const record = await this.organizations.insert(tx, { ...input, technicalContacts });
      await this.audit.append(tx, {
        actor: context.actor,
        action: 'organization.created',
        entityType: 'organization',
        entityId: record.id,
        organizationId: record.id,
        after: toOrganization(record),
        requestId: context.requestId,
      });
      return record;
    });
    return new Versioned(toOrganization(created), created.version);
  }

  async get(id: string): Promise<Versioned<Organization>> {
    const record = await this.organizations.findById(id);
    if (!record) {
      throw new NotFoundError('organization');
    }
    return new Versioned(toOrganization(record), record.version);
  }

  async list(filter: OrganizationFilter, limit: number, cursor?: string): Promise<Page<Organization>> {
    const after = cursorPosition(cursor);
    const rows = await this.organizations.list(filter, limit + 1, after);
    return toPage(rows, limit, toOrganization, (row) => ({ at: row.createdAt, id: row.id }));
  }

  update(
    id: string,
    changes: OrganizationChanges,
    expectedVersion: number | undefined,
    context: RequestContext,
  ): Promise<Versioned<Organization>> {
    const technicalContacts = changes.technicalContacts === undefined ? undefined : normalizeContacts(changes.technicalContacts);
    return this.change(id, { ...changes, technicalContacts }, expectedVersion, context, 'organization.updated');
  }

  suspend(id: string, expectedVersion: number | undefined, context: RequestContext): Promise<Versioned<Organization>> {
    return this.change(id, { status: 'suspended' }, expectedVersion, context, 'organization.suspended');
  }

  reactivate(id: string, expectedVersion: number | undefined, context: RequestContext): Promise<Versioned<Organization>> {
    return this.change(id, { status: 'active' }, expectedVersion, context, 'organization.reactivated');
  }

  /**
   * Every change takes the row lock first, so concurrent changes apply one
   * after the other and each audit event shows the exact before and after.
   * A change that changes nothing writes nothing.
   */
  private async change(
    id: string,
    changes: OrganizationChanges,
    expectedVersion: number | undefined,
    context: RequestContext,
    action: string,
  ): Promise<Versioned<Organization>> {
    const record = await this.organizations.transaction(async (tx) => {
      const current = await this.organizations.lockById(tx, id);
      if (!current) {
        throw new NotFoundError('organization');
      }
      if (expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new PreconditionFailedError();
      }
      const effective = Object.fromEntries(
        Object.entries(changes).filter(
          ([field, value]) => value !== undefined && !sameValue(current[field as keyof OrganizationChanges], value),
        ),
      ) as OrganizationChanges;
      if (Object.keys(effective).length === 0) {
        return current;
      }
      const updated = await this.organizations.update(tx, id, effective);
      await this.audit.append(tx, {
        actor: context.actor,
        action,
        entityType: 'organization',
        entityId: id,
        organizationId: id,
        before: toOrganization(current),
        after: toOrganization(updated),
        requestId: context.requestId,
      });
      // A suspended organization's exceptions leave the allowlist; reactivation brings them back.
      if (effective.status === 'suspended') {
        await this.cascade.suspendForOrganization(tx, id, context);
      } else if (effective.status === 'active') {
        await this.cascade.restoreForOrganization(tx, id, context);
      }
      return updated;
    });
    return new Versioned(toOrganization(record), record.version);
  }
}
