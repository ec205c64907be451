import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import type { DomainState, DomainStatus } from './domain-lifecycle.js';

export interface DomainRecord extends DomainState {
  id: string;
  organizationId: string;
  name: string;
  challengeToken: string;
  challengeIssuedAt: Date;
  lastCheckedAt: Date | null;
  overrideJustification: string | null;
  overrideBy: string | null;
  /** Owner of the key that requested the override in force; null for one made before owners existed. */
  overrideByOwner: string | null;
  overrideApprovedBy: string | null;
  overrideApprovedByOwner: string | null;
  overrideApprovedAt: Date | null;
  /** An override requested, waiting for another admin (another owner). */
  pendingOverrideJustification: string | null;
  pendingOverrideExpiresAt: Date | null;
  pendingOverrideBy: string | null;
  pendingOverrideByOwner: string | null;
  pendingOverrideRequestedAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DomainCheckRecord {
  id: string;
  domainId: string;
  checkedAt: Date;
  trigger: string;
  outcome: string;
  recordName: string;
  resolvers: unknown;
  statusBefore: DomainStatus;
  statusAfter: DomainStatus;
  detail: string;
}

export type DomainChanges = Partial<
  Omit<DomainRecord, 'id' | 'organizationId' | 'name' | 'version' | 'createdAt' | 'updatedAt'>
>;

/** The only place that touches Prisma for domains and their checks. */
@Injectable()
export class DomainsRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  async organizationExists(tx: Transaction, organizationId: string): Promise<boolean> {
    return (await tx.organization.count({ where: { id: organizationId } })) > 0;
  }

  insert(
    tx: Transaction,
    data: Pick<DomainRecord, 'organizationId' | 'name' | 'challengeToken' | 'challengeIssuedAt' | 'challengeExpiresAt' | 'nextCheckAt'>,
  ): Promise<DomainRecord> {
    return tx.domain.create({ data });
  }

  findById(id: string): Promise<DomainRecord | null> {
    return this.prisma.domain.findUnique({ where: { id } });
  }

  async lockById(tx: Transaction, id: string): Promise<DomainRecord | null> {
    await tx.$queryRaw`SELECT id FROM domains WHERE id = ${id}::uuid FOR UPDATE`;
    return tx.domain.findUnique({ where: { id } });
  }

  findInOrganization(tx: Transaction, organizationId: string, name: string): Promise<DomainRecord | null> {
    return tx.domain.findUnique({ where: { organizationId_name: { organizationId, name } } });
  }

  /** The organization (other than `exceptOrganizationId`) holding `name` verified, if any. */
  async verifiedElsewhere(tx: Transaction, name: string, exceptOrganizationId: string): Promise<boolean> {
    return (await tx.domain.count({ where: { name, status: 'verified', organizationId: { not: exceptOrganizationId } } })) > 0;
  }

  update(tx: Transaction, id: string, changes: DomainChanges): Promise<DomainRecord> {
    return tx.domain.update({
      where: { id },
      data: { ...changes, version: { increment: 1 }, updatedAt: new Date() },
    });
  }

  insertCheck(tx: Transaction, check: Omit<DomainCheckRecord, 'id'>): Promise<DomainCheckRecord> {
    return tx.domainCheck.create({ data: { ...check, resolvers: check.resolvers as object } });
  }

  listForOrganization(organizationId: string, limit: number, after?: { at: Date; id: string }): Promise<DomainRecord[]> {
    return this.prisma.domain.findMany({
      where: {
        organizationId,
        ...(after ? { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  listChecks(domainId: string, limit: number, after?: { at: Date; id: string }): Promise<DomainCheckRecord[]> {
    return this.prisma.domainCheck.findMany({
      where: {
        domainId,
        ...(after ? { OR: [{ checkedAt: { lt: after.at } }, { checkedAt: after.at, id: { lt: after.id } }] } : {}),
      },
      orderBy: [{ checkedAt: 'desc' }, { id: 'desc' }],
      take: limit,
    }) as Promise<DomainCheckRecord[]>;
  }

  /**
   * Deletes up to `limit` checks that lie beyond their domain's `max` latest,
   * or beyond its `keep` latest and older than `cutoff`; answers how many went.
   * Ranked the way `listChecks` orders them, so what remains is what a CSR sees first.
   */
  async purgeChecks(cutoff: Date, keep: number, max: number, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM domain_checks
      WHERE id IN (
        SELECT id FROM (
          SELECT id, checked_at,
                 row_number() OVER (PARTITION BY domain_id ORDER BY checked_at DESC, id DESC) AS rank
          FROM domain_checks
        ) ranked
        WHERE rank > ${max}::int OR (rank > ${keep}::int AND checked_at < ${cutoff})
        LIMIT ${limit}::int
      )`;
  }

  /** Domains the worker should look at now. */
  async due(now: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.domain.findMany({
      where: { status: { in: ['pending', 'verified', 'lapsed'] }, nextCheckAt: { lte: now } },
      orderBy: { nextCheckAt: 'asc' },
      take: limit,
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  /** Names of the organization's domains that count as verified now (by DNS, or by an active override). */
  async verifiedNames(organizationId: string): Promise<string[]> {
    const rows = await this.prisma.domain.findMany({
      where: { organizationId, status: 'verified' },
      select: { name: true },
      orderBy: { name: 'asc' },
    });
    return rows.map((row) => row.name);
  }

  /** Evidence resting on this organization's domains must be recomputed. */
  async markOwnershipStale(tx: Transaction, organizationId: string): Promise<void> {
    await tx.mailServerOwnership.updateMany({ where: { organizationId }, data: { stale: true } });
  }
}
