import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import type { Role } from '@app/domain';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  secretHash: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  owner: string | null;
  /** The organization a `customer` key is bound to; null for every other role. */
  organizationId: string | null;
}

/** The only place that touches Prisma for API keys. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  insert(
    tx: Transaction,
    data: { name: string; role: Role; owner: string | null; prefix: string; secretHash: string; expiresAt: Date | null; organizationId?: string | null },
  ): Promise<ApiKeyRecord> {
    return tx.apiKey.create({ data });
  }

  /** Whether the organization exists (a customer key is bound to one). */
  async organizationExists(tx: Transaction, id: string): Promise<boolean> {
    return (await tx.organization.count({ where: { id } })) > 0;
  }

  findByPrefix(prefix: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findUnique({ where: { prefix } });
  }

  findById(tx: Transaction, id: string): Promise<ApiKeyRecord | null> {
    return tx.apiKey.findUnique({ where: { id } });
  }

  existsWithHash(tx: Transaction, secretHash: string): Promise<boolean> {
    return tx.apiKey.count({ where: { secretHash } }).then((count) => count > 0);
  }

  /** Newest first, keyset-paginated by (createdAt, id). */
  list(limit: number, after?: { at: Date; id: string }): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({
      where: after
        ? { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }
        : undefined,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  revoke(tx: Transaction, id: string, at: Date): Promise<ApiKeyRecord> {
    return tx.apiKey.update({ where: { id }, data: { revokedAt: at } });
  }

  /** Tells every process (on commit) to forget what it remembers of this key (created or revoked). */
  async announceChange(tx: Transaction, prefix: string): Promise<void> {
    await tx.$executeRaw`SELECT pg_notify('helopass_keys', ${prefix})`;
  }

  /** Serializes start-up registration across replicas sharing one database. */
  async lockBootstrap(tx: Transaction): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(72040203)`;
  }

  countKeys(tx: Transaction): Promise<number> {
    return tx.apiKey.count();
  }

  countActiveAdmins(tx: Transaction, now: Date): Promise<number> {
    return tx.apiKey.count({
      where: { role: 'admin', revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    });
  }

  /** Filter keys neither revoked nor expired (kept on disk for a start during an outage). */
  activeFilterKeys(now: Date): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({ where: { role: 'filter', revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } });
  }

  async touchLastUsed(id: string, at: Date): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: at } });
  }
}
