import { Injectable } from '@nestjs/common';
import { auditEventWhere, PrismaService, type AuditEventQuery } from '@app/database';

export interface AuditEventRecord {
  id: string;
  seq: bigint;
  occurredAt: Date;
  actorId: string | null;
  actorName: string;
  actorRole: string;
  actorOwner: string | null;
  action: string;
  entityType: string;
  entityId: string;
  organizationId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export type AuditEventFilter = AuditEventQuery;

/** The only place that reads audit events for the API (writes go through AuditLog). */
@Injectable()
export class AuditEventsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Whether the resource a history is asked for exists (a missing one is 404, not an empty history). */
  async resourceExists(resource: 'organization' | 'mail_server' | 'domain', id: string): Promise<boolean> {
    const where = { where: { id } };
    const count =
      resource === 'organization'
        ? await this.prisma.organization.count(where)
        : resource === 'mail_server'
          ? await this.prisma.mailServer.count(where)
          : await this.prisma.domain.count(where);
    return count > 0;
  }

  /**
   * The entity's last event at or before `instant` (the highest seq among those
   * that occurred by then, as the allowlist's history counts), and whether the
   * trail names the entity at all. Reads only that entity's events (its index).
   */
  async lastAtOrBefore(entityType: string, entityId: string, instant: Date): Promise<{ last: AuditEventRecord | null; known: boolean }> {
    const last = await this.prisma.auditEvent.findFirst({ where: { entityType, entityId, occurredAt: { lte: instant } }, orderBy: { seq: 'desc' } });
    const known = last !== null || (await this.prisma.auditEvent.findFirst({ where: { entityType, entityId }, select: { id: true } })) !== null;
    return { last, known };
  }

  forEntity(entityType: string, entityId: string): Promise<AuditEventRecord[]> {
    return this.prisma.auditEvent.findMany({ where: { entityType, entityId }, orderBy: { seq: 'asc' } });
  }

  /** Newest first, by the chain's own order (seq), keyset-paginated. */
  list(filter: AuditEventFilter, limit: number, beforeSeq?: bigint): Promise<AuditEventRecord[]> {
    const where = { ...auditEventWhere(filter), seq: beforeSeq === undefined ? undefined : { lt: beforeSeq } };
    return this.prisma.auditEvent.findMany({ where, orderBy: { seq: 'desc' }, take: limit });
  }
}
