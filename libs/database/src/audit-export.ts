import { Injectable } from '@nestjs/common';
import { csvRecord } from '@app/domain';
import { AuditChainService } from './audit-chain.service.js';
import type { Prisma } from './generated/prisma/client.js';
import { PrismaService } from './prisma.service.js';

/** What the list and the export filter on (one meaning for both). */
export interface AuditEventQuery {
  entityType?: string;
  entityId?: string;
  organizationId?: string;
  actorId?: string;
  /** The person behind the key (normalized). */
  actorOwner?: string;
  /** `exception.granted` exactly, or every action of a kind: `exception.` */
  action?: string;
  /** Words in a reason or justification, in any case. */
  q?: string;
  from?: Date;
  to?: Date;
}

/** The fields of an event that say why: what `q` searches. */
const WHY_FIELDS = ['reason', 'justification', 'revokeReason', 'rejectionReason', 'approvalNote', 'decisionReason', 'overrideJustification', 'pendingOverrideJustification'];

export function auditEventWhere(filter: AuditEventQuery): Prisma.AuditEventWhereInput {
  const prefix = filter.action?.endsWith('.') === true;
  return {
    entityType: filter.entityType,
    entityId: filter.entityId,
    organizationId: filter.organizationId,
    actorId: filter.actorId,
    actorOwner: filter.actorOwner,
    action: filter.action === undefined ? undefined : prefix ? { startsWith: filter.action } : filter.action,
    occurredAt: filter.from || filter.to ? { gte: filter.from, lt: filter.to } : undefined,
    OR:
      filter.q === undefined
        ? undefined
        : WHY_FIELDS.flatMap((field) => [
            // ILIKE: an auditor searching "cto" means the CTO too.
            { after: { path: [field], string_contains: filter.q, mode: 'insensitive' as const } },
            { before: { path: [field], string_contains: filter.q, mode: 'insensitive' as const } },
          ]),
  };
}

export type AuditExportFormat = 'ndjson' | 'csv';

export const AUDIT_EXPORT_CSV_COLUMNS = [
  'position',
  'id',
  'occurredAt',
  'actorId',
  'actorName',
  'actorRole',
  'actorOwner',
  'action',
  'entityType',
  'entityId',
  'organizationId',
  'before',
  'after',
  'requestId',
  'prevHash',
  'hash',
] as const;

const BATCH = 1000;

/**
 * The trail as a file, oldest first in chain order, each event with its
 * link (position, prevHash, hash): an export of everything verifies from the
 * file alone (`audit verify --file`); a filtered one still proves each
 * event it holds. Produced batch by batch, so memory stays the same for a
 * thousand events or a million.
 */
@Injectable()
export class AuditExportService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly chain: AuditChainService,
  ) {}

  async *lines(filter: AuditEventQuery, format: AuditExportFormat): AsyncGenerator<string> {
    await this.chain.chainPending();
    if (format === 'csv') {
      yield csvRecord([...AUDIT_EXPORT_CSV_COLUMNS]);
    }
    const eventWhere = auditEventWhere(filter);
    // The head now: events chained while the file is written come in the next export, not half in this one.
    const head = await this.chain.head();
    let after = 0n;
    for (;;) {
      const links = await this.prisma.auditChainLink.findMany({
        where: { position: { gt: after, lte: BigInt(head.position) }, event: eventWhere },
        orderBy: { position: 'asc' },
        take: BATCH,
        include: { event: true },
      });
      for (const link of links) {
        const e = link.event;
        const record = {
          position: Number(link.position),
          id: e.id,
          occurredAt: e.occurredAt.toISOString(),
          actorId: e.actorId,
          actorName: e.actorName,
          actorRole: e.actorRole,
          actorOwner: e.actorOwner,
          action: e.action,
          entityType: e.entityType,
          entityId: e.entityId,
          organizationId: e.organizationId,
          before: e.before ?? null,
          after: e.after ?? null,
          requestId: e.requestId,
          prevHash: link.prevHash,
          hash: link.hash,
        };
        yield format === 'ndjson'
          ? JSON.stringify(record) + '\n'
          : csvRecord(
              AUDIT_EXPORT_CSV_COLUMNS.map((column) => {
                const value = record[column];
                return value === null || typeof value === 'number' || typeof value === 'string' ? value : JSON.stringify(value);
              }),
            );
      }
      if (links.length < BATCH) {
        return;
      }
      after = links.at(-1)!.position;
    }
  }
}
