import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/database';

export interface IdempotencyEntry {
  id: string;
  requestHash: string;
  responseStatus: number | null;
  responseBody: unknown;
  responseHeaders: unknown;
  createdAt: Date;
  completedAt: Date | null;
}

/** The only place that touches Prisma for idempotency records. */
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
}
