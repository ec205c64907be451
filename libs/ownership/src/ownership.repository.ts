import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/database';
import { canonicalFromInet } from '@app/domain';
import type { Evidence } from './evidence.js';

export interface ServerClaims {
  id: string;
  organizationId: string;
  heloHostname: string;
  addresses: string[];
}

export interface StoredEvidence {
  verified: boolean;
  evidence: Evidence;
  stale: boolean;
  checkedAt: Date;
}

/** The only place that touches Prisma for ownership evidence. */
@Injectable()
export class OwnershipRepository {
  constructor(private readonly prisma: PrismaService) {}

  async server(id: string): Promise<ServerClaims | null> {
    const row = await this.prisma.mailServer.findFirst({
      where: { id, deletedAt: null },
      include: { addresses: { where: { deletedAt: null }, orderBy: { position: 'asc' } } },
    });
    return row
      ? {
          id: row.id,
          organizationId: row.organizationId,
          heloHostname: row.heloHostname,
          addresses: row.addresses.map((address) => canonicalFromInet(address.prefix)),
        }
      : null;
  }

  async stored(mailServerId: string): Promise<StoredEvidence | null> {
    const row = await this.prisma.mailServerOwnership.findUnique({ where: { mailServerId } });
    return row ? { verified: row.verified, evidence: row.evidence as unknown as Evidence, stale: row.stale, checkedAt: row.checkedAt } : null;
  }

  async store(server: ServerClaims, evidence: Evidence, checkedAt: Date): Promise<void> {
    const data = { verified: evidence.verified, evidence: evidence as unknown as object, stale: false, checkedAt };
    await this.prisma.mailServerOwnership.upsert({
      where: { mailServerId: server.id },
      create: { mailServerId: server.id, organizationId: server.organizationId, ...data },
      update: { organizationId: server.organizationId, ...data },
    });
  }

  /** Live servers whose evidence is missing, marked stale, or older than `olderThan`. */
  async needingEvidence(olderThan: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.mailServer.findMany({
      where: {
        deletedAt: null,
        OR: [{ ownership: null }, { ownership: { stale: true } }, { ownership: { checkedAt: { lt: olderThan } } }],
      },
      select: { id: true },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    return rows.map((row) => row.id);
  }
}
