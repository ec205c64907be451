import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService, type Transaction } from '@app/database';
import { canonicalFromInet, ConflictError } from '@app/domain';

export interface MailServerRecord {
  id: string;
  organizationId: string;
  heloHostname: string;
  addresses: string[];
  description: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface MailServerFilter {
  organizationId?: string;
  heloHostname?: string;
  /** Canonical address or prefix that a server's prefix must contain. */
  containing?: string;
}

const WITH_ADDRESSES = {
  addresses: { where: { deletedAt: null }, orderBy: { position: 'asc' as const } },
} as const;

type Row = Prisma.MailServerGetPayload<{ include: typeof WITH_ADDRESSES }>;

function toRecord(row: Row): MailServerRecord {
  return {
    id: row.id,
    organizationId: row.organizationId,
    heloHostname: row.heloHostname,
    addresses: row.addresses.map((address) => canonicalFromInet(address.prefix)),
    description: row.description,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The PostgreSQL error raised by the (HELO, address) exclusion constraint. */
function isOwnershipClash(error: unknown): boolean {
  const text = String((error as Error | null)?.message ?? '') + JSON.stringify((error as { meta?: unknown })?.meta ?? {});
  return text.includes('mail_server_addresses_helo_prefix_one_org') || text.includes('23P01');
}

export const OWNED_ELSEWHERE = 'this HELO name with one of these addresses already belongs to another organization';

/**
 * The exclusion constraint refused the addresses: another organization
 * registered an overlapping (HELO, address) between our check and our
 * write. The service names the address once the transaction is over.
 */
export class HeldElsewhereRaceError extends ConflictError {
  constructor() {
    super(OWNED_ELSEWHERE);
  }
}

/** One of our addresses that overlaps another organization's address under the same HELO name. */
export interface AddressHeldElsewhere {
  /** Ours, canonical. */
  readonly address: string;
  /** Theirs, canonical: the same prefix, or one that overlaps it. */
  readonly held: string;
  readonly organizationName: string;
}

/** The only place that touches Prisma for mail servers and their addresses. */
@Injectable()
export class MailServersRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  async organizationExists(tx: Transaction, organizationId: string): Promise<boolean> {
    return (await tx.organization.count({ where: { id: organizationId } })) > 0;
  }

  /**
   * Prefixes (of `prefixes`) that overlap a live address of another
   * organization's server with this HELO, each with one address it
   * overlaps (the same prefix first) and that organization's name.
   */
  async prefixesHeldElsewhere(
    tx: Transaction,
    organizationId: string,
    heloHostname: string,
    prefixes: string[],
  ): Promise<AddressHeldElsewhere[]> {
    const rows = await tx.$queryRaw<{ wanted: string; held: string; organization_name: string }[]>`
      SELECT DISTINCT ON (wanted) wanted::text AS wanted, a.prefix::text AS held, o.name AS organization_name
      FROM unnest(${prefixes}::inet[]) AS wanted
      JOIN mail_server_addresses a
        ON a.prefix && wanted AND a.helo_hostname = ${heloHostname}
       AND a.organization_id <> ${organizationId}::uuid AND a.deleted_at IS NULL
      JOIN organizations o ON o.id = a.organization_id
      ORDER BY wanted, a.prefix = wanted DESC, a.prefix`;
    return rows.map((row) => ({
      address: canonicalFromInet(row.wanted),
      held: canonicalFromInet(row.held),
      organizationName: row.organization_name,
    }));
  }

  async insert(
    tx: Transaction,
    data: { organizationId: string; heloHostname: string; addresses: string[]; description?: string },
  ): Promise<MailServerRecord> {
    const server = await tx.mailServer.create({
      data: { organizationId: data.organizationId, heloHostname: data.heloHostname, description: data.description },
    });
    await this.writeAddresses(tx, server.id, data.organizationId, data.heloHostname, data.addresses);
    return this.load(tx, server.id);
  }

  async findById(id: string): Promise<MailServerRecord | null> {
    const row = await this.prisma.mailServer.findFirst({ where: { id, deletedAt: null }, include: WITH_ADDRESSES });
    return row ? toRecord(row) : null;
  }

  async lockById(tx: Transaction, id: string): Promise<MailServerRecord | null> {
    await tx.$queryRaw`SELECT id FROM mail_servers WHERE id = ${id}::uuid AND deleted_at IS NULL FOR UPDATE`;
    const row = await tx.mailServer.findFirst({ where: { id, deletedAt: null }, include: WITH_ADDRESSES });
    return row ? toRecord(row) : null;
  }

  async update(
    tx: Transaction,
    current: MailServerRecord,
    changes: { heloHostname?: string; addresses?: string[]; description?: string | null },
  ): Promise<MailServerRecord> {
    const heloHostname = changes.heloHostname ?? current.heloHostname;
    await tx.mailServer.update({
      where: { id: current.id },
      data: {
        heloHostname,
        description: changes.description,
        version: { increment: 1 },
        updatedAt: new Date(),
      },
    });
    if (changes.addresses !== undefined || changes.heloHostname !== undefined) {
      // Addresses are replaced as a whole; their history lives in the audit events.
      await tx.mailServerAddress.deleteMany({ where: { mailServerId: current.id, deletedAt: null } });
      await this.writeAddresses(tx, current.id, current.organizationId, heloHostname, changes.addresses ?? current.addresses);
    }
    return this.load(tx, current.id);
  }

  /** Exceptions of this server that are pending, active or suspended and not yet expired. */
  async runningExceptions(tx: Transaction, mailServerId: string, now: Date): Promise<number> {
    return tx.exception.count({
      where: { mailServerId, status: { in: ['pending_approval', 'active', 'suspended'] }, expiresAt: { gt: now } },
    });
  }

  /**
   * Ids of this server's running exceptions (pending, active or suspended,
   * not yet expired), oldest first. Read under the server's row lock, which a
   * grant takes too, so none can be added until the caller's transaction ends.
   */
  async runningExceptionIds(tx: Transaction, mailServerId: string, now: Date): Promise<string[]> {
    const rows = await tx.exception.findMany({
      where: { mailServerId, status: { in: ['pending_approval', 'active', 'suspended'] }, expiresAt: { gt: now } },
      select: { id: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((row) => row.id);
  }

  /** Soft delete: the server and its addresses stay for history but no longer hold the (HELO, address). */
  async softDelete(tx: Transaction, id: string, at: Date): Promise<void> {
    await tx.mailServer.update({ where: { id }, data: { deletedAt: at, version: { increment: 1 }, updatedAt: at } });
    await tx.mailServerAddress.updateMany({ where: { mailServerId: id, deletedAt: null }, data: { deletedAt: at } });
  }

  async list(filter: MailServerFilter, limit: number, after?: { at: Date; id: string }): Promise<MailServerRecord[]> {
    const conditions: Prisma.Sql[] = [Prisma.sql`ms.deleted_at IS NULL`];
    if (filter.organizationId !== undefined) {
      conditions.push(Prisma.sql`ms.organization_id = ${filter.organizationId}::uuid`);
    }
    if (filter.heloHostname !== undefined) {
      conditions.push(Prisma.sql`ms.helo_hostname = ${filter.heloHostname}`);
    }
    if (filter.containing !== undefined) {
      conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM mail_server_addresses a
        WHERE a.mail_server_id = ms.id AND a.deleted_at IS NULL AND a.prefix >>= ${filter.containing}::inet)`);
    }
    if (after !== undefined) {
      conditions.push(Prisma.sql`(ms.created_at, ms.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    }
    const ids = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT ms.id FROM mail_servers ms
      WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY ms.created_at DESC, ms.id DESC
      LIMIT ${limit}`;
    const rows = await this.prisma.mailServer.findMany({
      where: { id: { in: ids.map((row) => row.id) } },
      include: WITH_ADDRESSES,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
    return rows.map(toRecord);
  }

  private async load(tx: Transaction, id: string): Promise<MailServerRecord> {
    return toRecord(await tx.mailServer.findUniqueOrThrow({ where: { id }, include: WITH_ADDRESSES }));
  }

  private async writeAddresses(
    tx: Transaction,
    mailServerId: string,
    organizationId: string,
    heloHostname: string,
    prefixes: string[],
  ): Promise<void> {
    try {
      await tx.mailServerAddress.createMany({
        data: prefixes.map((prefix, position) => ({ mailServerId, organizationId, heloHostname, prefix, position })),
      });
    } catch (error) {
      // A concurrent registration by another organization won the race.
      throw isOwnershipClash(error) ? new HeldElsewhereRaceError() : error;
    }
  }
}
