import { Injectable } from '@nestjs/common';
import { AuditLog, type Transaction } from '@app/database';
import {
  Clock,
  ConflictError,
  cursorPosition,
  InvalidAddressError,
  InvalidFieldError,
  InvalidHostnameError,
  normalizeHeloHostname,
  normalizePrefix,
  NotFoundError,
  PreconditionFailedError,
  toPage,
  Versioned,
  type ChangeContext as RequestContext,
  type Page,
} from '@app/domain';
import {
  HeldElsewhereRaceError,
  MailServersRepository,
  type AddressHeldElsewhere,
  type MailServerRecord,
} from './mail-servers.repository.js';

export interface MailServer {
  id: string;
  organizationId: string;
  heloHostname: string;
  addresses: string[];
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface MailServerQuery {
  organizationId?: string;
  helo?: string;
  address?: string;
}

function toMailServer(record: MailServerRecord): MailServer {
  return {
    id: record.id,
    organizationId: record.organizationId,
    heloHostname: record.heloHostname,
    addresses: record.addresses,
    description: record.description,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

function heloField(field: string, value: string): string {
  try {
    return normalizeHeloHostname(value);
  } catch (error) {
    throw error instanceof InvalidHostnameError ? new InvalidFieldError(field, error.message) : error;
  }
}

/** Canonical prefixes, duplicates (after normalization) dropped, order kept. */
function addressesField(field: string, values: string[]): string[] {
  const canonical = values.map((value, index) => {
    try {
      return normalizePrefix(value).cidr;
    } catch (error) {
      throw error instanceof InvalidAddressError ? new InvalidFieldError(`${field}[${index}]`, error.message) : error;
    }
  });
  return [...new Set(canonical)];
}

/**
 * Mail servers: a HELO name as the server announces it and the addresses it
 * sends from. A (HELO, address) belongs to at most one organization.
 */
@Injectable()
export class MailServersService {
  constructor(
    private readonly servers: MailServersRepository,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async create(
    organizationId: string,
    input: { heloHostname: string; addresses: string[]; description?: string },
    context: RequestContext,
  ): Promise<Versioned<MailServer>> {
    const heloHostname = heloField('heloHostname', input.heloHostname);
    const addresses = addressesField('addresses', input.addresses);
    const recheck = (tx: Transaction) => this.refuseHeldElsewhere(tx, organizationId, heloHostname, addresses, context.actor.role === 'customer');
    const created = await this.explainingRaces(recheck, () => this.servers.transaction(async (tx) => {
      if (!(await this.servers.organizationExists(tx, organizationId))) {
        throw new NotFoundError('organization');
      }
      await this.refuseHeldElsewhere(tx, organizationId, heloHostname, addresses, context.actor.role === 'customer');
      const record = await this.servers.insert(tx, {
        organizationId,
        heloHostname,
        addresses,
        description: input.description,
      });
      await this.audit.append(tx, {
        actor: context.actor,
        action: 'mail_server.created',
        entityType: 'mail_server',
        entityId: record.id,
        organizationId,
        after: toMailServer(record),
        requestId: context.requestId,
      });
      return record;
    }));
    return new Versioned(toMailServer(created), created.version);
  }

  async get(id: string): Promise<Versioned<MailServer>> {
    const record = await this.servers.findById(id);
    if (!record) {
      throw new NotFoundError('mail server');
    }
    return new Versioned(toMailServer(record), record.version);
  }

  async list(query: MailServerQuery, limit: number, cursor?: string): Promise<Page<MailServer>> {
    const after = cursorPosition(cursor);
    const filter = {
      organizationId: query.organizationId,
      heloHostname: query.helo === undefined ? undefined : heloField('helo', query.helo),
      containing: query.address === undefined ? undefined : addressesField('address', [query.address])[0],
    };
    const rows = await this.servers.list(filter, limit + 1, after);
    return toPage(rows, limit, toMailServer, (row) => ({ at: row.createdAt, id: row.id }));
  }

  async listForOrganization(
    organizationId: string,
    query: MailServerQuery,
    limit: number,
    cursor?: string,
  ): Promise<Page<MailServer>> {
    const exists = await this.servers.transaction((tx) => this.servers.organizationExists(tx, organizationId));
    if (!exists) {
      throw new NotFoundError('organization');
    }
    return this.list({ ...query, organizationId }, limit, cursor);
  }

  async update(
    id: string,
    input: { heloHostname?: string; addresses?: string[]; description?: string | null },
    expectedVersion: number | undefined,
    context: RequestContext,
  ): Promise<Versioned<MailServer>> {
    const heloHostname = input.heloHostname === undefined ? undefined : heloField('heloHostname', input.heloHostname);
    const addresses = input.addresses === undefined ? undefined : addressesField('addresses', input.addresses);
    const recheck = async (tx: Transaction) => {
      const current = await this.servers.lockById(tx, id);
      if (current) {
        await this.refuseHeldElsewhere(tx, current.organizationId, heloHostname ?? current.heloHostname, addresses ?? current.addresses);
      }
    };
    const record = await this.explainingRaces(recheck, () => this.servers.transaction(async (tx) => {
      const current = await this.lockCurrent(tx, id, expectedVersion);
      const changes = {
        heloHostname: heloHostname !== current.heloHostname ? heloHostname : undefined,
        addresses: addresses !== undefined && addresses.join() !== current.addresses.join() ? addresses : undefined,
        description: input.description !== current.description ? input.description : undefined,
      };
      if (Object.values(changes).every((value) => value === undefined)) {
        return current;
      }
      if (changes.heloHostname !== undefined || changes.addresses !== undefined) {
        await this.refuseWhileExceptionsRun(tx, id);
      }
      await this.refuseHeldElsewhere(
        tx,
        current.organizationId,
        changes.heloHostname ?? current.heloHostname,
        changes.addresses ?? current.addresses,
      );
      const updated = await this.servers.update(tx, current, changes);
      await this.audit.append(tx, {
        actor: context.actor,
        action: 'mail_server.updated',
        entityType: 'mail_server',
        entityId: id,
        organizationId: current.organizationId,
        before: toMailServer(current),
        after: toMailServer(updated),
        requestId: context.requestId,
      });
      return updated;
    }));
    return new Versioned(toMailServer(record), record.version);
  }

  async remove(id: string, expectedVersion: number | undefined, context: RequestContext): Promise<void> {
    await this.servers.transaction(async (tx) => {
      const current = await this.lockCurrent(tx, id, expectedVersion);
      const now = this.clock.now();
      if ((await this.servers.runningExceptions(tx, id, now)) > 0) {
        throw new ConflictError('the mail server has running exceptions; revoke them first');
      }
      await this.servers.softDelete(tx, id, now);
      await this.audit.append(tx, {
        actor: context.actor,
        action: 'mail_server.deleted',
        entityType: 'mail_server',
        entityId: id,
        organizationId: current.organizationId,
        before: toMailServer(current),
        requestId: context.requestId,
      });
    });
  }

  /**
   * Exceptions copy the server's HELO name and addresses when granted; while
   * any runs, those may not change under it (and freed addresses could be
   * claimed by another organization while still in the feed). The server's
   * row lock, held by the caller, keeps a grant from slipping in meanwhile.
   */
  private async refuseWhileExceptionsRun(tx: Transaction, id: string): Promise<void> {
    const running = await this.servers.runningExceptionIds(tx, id, this.clock.now());
    if (running.length > 0) {
      throw new ConflictError(
        `the mail server has running exceptions (${running.join(', ')}); its heloHostname and addresses cannot change ` +
          'while they run: revoke them, change the server, then grant again (other fields may change)',
      );
    }
  }

  private async lockCurrent(
    tx: Transaction,
    id: string,
    expectedVersion: number | undefined,
  ): Promise<MailServerRecord> {
    const current = await this.servers.lockById(tx, id);
    if (!current) {
      throw new NotFoundError('mail server');
    }
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError();
    }
    return current;
  }

  private async refuseHeldElsewhere(
    tx: Transaction,
    organizationId: string,
    heloHostname: string,
    addresses: string[],
    /** A customer learns that the pair is taken, never by whom (another organization's name is not theirs to see). */
    anonymous = false,
  ): Promise<void> {
    const clashes = await this.servers.prefixesHeldElsewhere(tx, organizationId, heloHostname, addresses);
    if (clashes.length > 0) {
      throw new ConflictError(
        anonymous
          ? `this HELO name with ${clashes.length === 1 ? 'one of these addresses' : 'these addresses'} is registered to another organization; ask your provider`
          : heldElsewhereMessage(heloHostname, addresses, clashes),
      );
    }
  }

  /**
   * Runs a write; when the database's exclusion constraint refused it (an
   * organization registered the same pair after our check), looks again
   * once that winner has committed, so that the 409 names the address too.
   */
  private async explainingRaces<T>(recheck: (tx: Transaction) => Promise<void>, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof HeldElsewhereRaceError) {
        await this.servers.transaction(recheck);
      }
      throw error;
    }
  }
}

const NAMED_CLASHES = 5;

/**
 * What the caller must change, address by address, in the order sent:
 * `192.0.2.10/32 (exch01.corp.example) already belongs to another organization, "Example Widgets Ltd"`.
 * The other organization is named: only staff (admin, csr) register mail servers, and they may read every organization.
 */
export function heldElsewhereMessage(heloHostname: string, addresses: string[], clashes: AddressHeldElsewhere[]): string {
  const ordered = [...clashes].sort((a, b) => addresses.indexOf(a.address) - addresses.indexOf(b.address));
  const named = ordered.slice(0, NAMED_CLASHES).map((clash) =>
    clash.held === clash.address
      ? `${clash.address} (${heloHostname}) already belongs to another organization, "${clash.organizationName}"`
      : `${clash.address} (${heloHostname}) overlaps ${clash.held}, which belongs to another organization, "${clash.organizationName}"`,
  );
  const more = ordered.length - named.length;
  return named.join('; ') + (more > 0 ? `; and ${more} more of the addresses` : '');
}
