import { Injectable } from '@nestjs/common';
import { likeLiteral, PrismaService, type Prisma, type Transaction } from '@app/database';
import { ConflictError } from '@app/domain';

export interface OrganizationRecord {
  id: string;
  name: string;
  customerRef: string | null;
  status: 'active' | 'suspended';
  notes: string | null;
  technicalContacts: string[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface OrganizationChanges {
  name?: string;
  customerRef?: string | null;
  notes?: string | null;
  status?: 'active' | 'suspended';
  technicalContacts?: string[];
}

export interface OrganizationFilter {
  /** Only this organization (a customer key's list). */
  id?: string;
  q?: string;
  status?: 'active' | 'suspended';
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2002';
}

const CUSTOMER_REF_TAKEN = 'customerRef is already used by another organization';

/** The only place that touches Prisma for organizations. */
@Injectable()
export class OrganizationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  async insert(tx: Transaction, data: { name: string; customerRef?: string; notes?: string; technicalContacts?: string[] }): Promise<OrganizationRecord> {
    try {
      return await tx.organization.create({ data });
    } catch (error) {
      throw isUniqueViolation(error) ? new ConflictError(CUSTOMER_REF_TAKEN) : error;
    }
  }

  findById(id: string): Promise<OrganizationRecord | null> {
    return this.prisma.organization.findUnique({ where: { id } });
  }

  /** Reads the row and locks it until the transaction ends, so concurrent changes queue up. */
  async lockById(tx: Transaction, id: string): Promise<OrganizationRecord | null> {
    await tx.$queryRaw`SELECT id FROM organizations WHERE id = ${id}::uuid FOR UPDATE`;
    return tx.organization.findUnique({ where: { id } });
  }

  async update(tx: Transaction, id: string, changes: OrganizationChanges): Promise<OrganizationRecord> {
    try {
      return await tx.organization.update({
        where: { id },
        data: { ...changes, version: { increment: 1 }, updatedAt: new Date() },
      });
    } catch (error) {
      throw isUniqueViolation(error) ? new ConflictError(CUSTOMER_REF_TAKEN) : error;
    }
  }

  list(filter: OrganizationFilter, limit: number, after?: { at: Date; id: string }): Promise<OrganizationRecord[]> {
    const where: Prisma.OrganizationWhereInput[] = [];
    if (filter.id !== undefined) {
      where.push({ id: filter.id });
    }
    if (filter.q !== undefined) {
      where.push({ OR: [{ name: { contains: likeLiteral(filter.q), mode: 'insensitive' } }, { customerRef: filter.q }] });
    }
    if (filter.status !== undefined) {
      where.push({ status: filter.status });
    }
    if (after !== undefined) {
      where.push({ OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] });
    }
    return this.prisma.organization.findMany({
      where: { AND: where },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }
}
