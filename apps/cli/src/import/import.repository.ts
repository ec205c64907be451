import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import { canonicalFromInet, ConflictError } from '@app/domain';

/** A live mail server as the importer needs it. */
export interface ImportServer {
  id: string;
  organizationId: string;
  heloHostname: string;
  addresses: string[];
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const LIVE_ADDRESSES = { addresses: { where: { deletedAt: null }, orderBy: { position: 'asc' as const } } } as const;

function toServer(row: {
  id: string;
  organizationId: string;
  heloHostname: string;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
  addresses: Array<{ prefix: string }>;
}): ImportServer {
  return {
    id: row.id,
    organizationId: row.organizationId,
    heloHostname: row.heloHostname,
    addresses: row.addresses.map((address) => canonicalFromInet(address.prefix)),
    description: row.description,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The PostgreSQL error raised by the (HELO, address) exclusion constraint. */
function isOwnershipClash(error: unknown): boolean {
  const text = String((error as Error | null)?.message ?? '') + JSON.stringify((error as { meta?: unknown })?.meta ?? {});
  return text.includes('mail_server_addresses_helo_prefix_one_org') || text.includes('23P01');
}

/**
 * The importer's only contact with Prisma: organizations and mail servers.
 * Mail servers are written as the API's mail-server repository writes them
 * (that service lives in apps/api, out of the command line's reach); the
 * (HELO, address)-in-one-organization rule is the database's exclusion
 * constraint, which refuses a clash whoever writes.
 */
@Injectable()
export class ImportRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  organization(id: string): Promise<{ id: string; name: string; status: 'active' | 'suspended' } | null> {
    return this.prisma.organization.findUnique({ where: { id }, select: { id: true, name: true, status: true } });
  }

  /** The organization's live mail servers with this HELO name, oldest first. */
  async serversNamed(organizationId: string, heloHostname: string): Promise<ImportServer[]> {
    const rows = await this.prisma.mailServer.findMany({
      where: { organizationId, heloHostname, deletedAt: null },
      include: LIVE_ADDRESSES,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map(toServer);
  }

  async insertServer(
    tx: Transaction,
    data: { organizationId: string; heloHostname: string; addresses: string[]; description: string },
  ): Promise<ImportServer> {
    const server = await tx.mailServer.create({
      data: { organizationId: data.organizationId, heloHostname: data.heloHostname, description: data.description },
    });
    try {
      await tx.mailServerAddress.createMany({
        data: data.addresses.map((prefix, position) => ({
          mailServerId: server.id,
          organizationId: data.organizationId,
          heloHostname: data.heloHostname,
          prefix,
          position,
        })),
      });
    } catch (error) {
      throw isOwnershipClash(error)
        ? new ConflictError('this HELO name with one of these addresses already belongs to another organization')
        : error;
    }
    return toServer(await tx.mailServer.findUniqueOrThrow({ where: { id: server.id }, include: LIVE_ADDRESSES }));
  }
}
