import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '@app/database';
import type { Role } from '@app/domain';

/** A session with the key it was opened with (the key's own state decides too). */
export interface ConsoleSessionRecord {
  id: string;
  apiKeyId: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  key: { id: string; name: string; role: Role; owner: string | null; organizationId: string | null; revokedAt: Date | null; expiresAt: Date | null };
}

/** The only place that touches Prisma for console sessions. */
@Injectable()
export class ConsoleSessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  async insert(tx: Transaction, data: { tokenHash: string; apiKeyId: string; now: Date; expiresAt: Date }): Promise<{ id: string }> {
    return tx.consoleSession.create({
      data: { tokenHash: data.tokenHash, apiKeyId: data.apiKeyId, createdAt: data.now, lastSeenAt: data.now, expiresAt: data.expiresAt },
      select: { id: true },
    });
  }

  async findByTokenHash(tokenHash: string): Promise<ConsoleSessionRecord | null> {
    const row = await this.prisma.consoleSession.findUnique({
      where: { tokenHash },
      include: { apiKey: { select: { id: true, name: true, role: true, owner: true, organizationId: true, revokedAt: true, expiresAt: true } } },
    });
    if (!row) {
      return null;
    }
    return {
      id: row.id,
      apiKeyId: row.apiKeyId,
      createdAt: row.createdAt,
      lastSeenAt: row.lastSeenAt,
      expiresAt: row.expiresAt,
      revokedAt: row.revokedAt,
      key: row.apiKey,
    };
  }

  /** Moves lastSeenAt forward (never back, whichever of two requests lands last). */
  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.consoleSession.updateMany({ where: { id, lastSeenAt: { lt: at } }, data: { lastSeenAt: at } });
  }

  /** Ends a session still open; answers whether it was (a second sign-out changes nothing). */
  async revoke(tx: Transaction, id: string, at: Date): Promise<{ createdAt: Date; expiresAt: Date } | null> {
    const { count } = await tx.consoleSession.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
    return count === 0 ? null : tx.consoleSession.findUnique({ where: { id }, select: { createdAt: true, expiresAt: true } });
  }

  /** Sessions over for a day or more are of no use to anyone: the worker-free way to keep the table small. */
  async purgeEndedBefore(before: Date): Promise<number> {
    const result = await this.prisma.consoleSession.deleteMany({
      where: { OR: [{ expiresAt: { lt: before } }, { revokedAt: { lt: before } }, { lastSeenAt: { lt: before } }] },
    });
    return result.count;
  }
}
