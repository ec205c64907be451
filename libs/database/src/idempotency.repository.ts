import { Injectable } from '@nestjs/common';
import { PrismaService } from './prisma.service.js';

export interface IdempotencyEntry {
  id: string;
  requestHash: string;
  responseStatus: number | null;
  responseBody: unknown;
  responseHeaders: unknown;
  createdAt: Date;
  completedAt: Date | null;
}

/**
 * The only place that touches Prisma for idempotency records: the API writes
 * them (its interceptor), the worker purges them past their retention.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Claims the key; undefined when another request already holds it. */
  async claim(
    apiKeyId: string,
    key: string,
    method: string,
    path: string,
    requestHash: string,
  ): Promise<string | undefined> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      INSERT INTO idempotency_records (id, api_key_id, key, method, path, request_hash)
      VALUES (gen_random_uuid(), ${apiKeyId}::uuid, ${key}, ${method}, ${path}, ${requestHash})
      ON CONFLICT (api_key_id, key) DO NOTHING
      RETURNING id`;
    return rows[0]?.id;
  }

  find(apiKeyId: string, key: string): Promise<IdempotencyEntry | null> {
    return this.prisma.idempotencyRecord.findUnique({ where: { apiKeyId_key: { apiKeyId, key } } });
  }

  async complete(id: string, status: number, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.prisma.idempotencyRecord.update({
      where: { id },
      data: {
        responseStatus: status,
        responseBody: body === undefined ? undefined : (JSON.parse(JSON.stringify(body)) as object),
        responseHeaders: headers,
        completedAt: new Date(),
      },
    });
  }

  async release(id: string): Promise<void> {
    await this.prisma.idempotencyRecord.deleteMany({ where: { id } });
  }

  /** Forgets a record that has outlived its retention (or was abandoned mid-request). */
  async forget(id: string): Promise<void> {
    await this.prisma.idempotencyRecord.deleteMany({ where: { id } });
  }

  /** Deletes up to `limit` records created before `cutoff`, oldest first; answers how many went. */
  async purgeCreatedBefore(cutoff: Date, limit: number): Promise<number> {
    // One bounded statement per call (the created_at index finds the oldest), so a
    // large backlog is worked off in short transactions instead of one long lock.
    return this.prisma.$executeRaw`
      DELETE FROM idempotency_records
      WHERE id IN (
        SELECT id FROM idempotency_records WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${limit}
      )`;
  }
}
