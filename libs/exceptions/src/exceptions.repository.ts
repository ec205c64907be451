import { Injectable } from '@nestjs/common';
import { Prisma, PrismaService, type Transaction } from '@app/database';
import { canonicalFromInet } from '@app/domain';
import type { ExceptionScope, ExceptionStatus, SuspensionCause } from './exception-rules.js';

export interface ExceptionRecord {
  id: string;
  organizationId: string;
  mailServerId: string;
  scope: ExceptionScope;
  status: ExceptionStatus;
  reason: string;
  ticketRef: string | null;
  startsAt: Date;
  expiresAt: Date;
  heloHostname: string;
  addresses: string[];
  override: boolean;
  justification: string | null;
  approvalReasons: string[];
  evidence: unknown;
  requestedBy: string;
  requestedByName: string;
  /** The person behind the requesting key (four eyes compares owners). */
  requestedByOwner: string;
  approvedBy: string | null;
  approvedByOwner: string | null;
  approvedAt: Date | null;
  /** The approver's reason, when one was given. */
  approvalNote: string | null;
  rejectedBy: string | null;
  rejectedByOwner: string | null;
  rejectedAt: Date | null;
  rejectionReason: string | null;
  revokedBy: string | null;
  revokedAt: Date | null;
  revokeReason: string | null;
  /** What keeps it suspended; several causes may hold at once, and only the return of each lifts it. */
  suspensionCauses: SuspensionCause[];
  suspendedAt: Date | null;
  renewalExpiresAt: Date | null;
  renewalRequestedBy: string | null;
  renewalRequestedByOwner: string | null;
  /** Why the waiting renewal needs a second person. */
  renewalApprovalReasons: string[];
  /** The last renewal that needed approval: who approved it, and when. */
  renewalApprovedBy: string | null;
  renewalApprovedByOwner: string | null;
  renewalApprovedAt: Date | null;
  /** The last DNS blocklist check and what it found (a `BlocklistReport`). */
  blocklistCheckedAt: Date | null;
  blocklistResult: unknown;
  /** The listings an admin's override accepted at grant time (`AcceptedListing[]`); these never suspend it. */
  blocklistAccepted: unknown;
  lastMatchedAt: Date | null;
  matchCount: bigint;
  /** Self-healing: the last look at the HELO name, and since when it passes Postfix's checks (with what was seen). */
  heloCheckedAt: Date | null;
  noLongerNeededSince: Date | null;
  noLongerNeededEvidence: unknown;
  /** A person's choice to keep it until its expiry although it is no longer needed. */
  keptReason: string | null;
  keptBy: string | null;
  keptByOwner: string | null;
  keptAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type NewException = Omit<
  ExceptionRecord,
  | 'id'
  | 'approvedBy'
  | 'approvedByOwner'
  | 'approvedAt'
  | 'approvalNote'
  | 'rejectedBy'
  | 'rejectedByOwner'
  | 'rejectedAt'
  | 'rejectionReason'
  | 'revokedBy'
  | 'revokedAt'
  | 'revokeReason'
  | 'suspensionCauses'
  | 'suspendedAt'
  | 'renewalExpiresAt'
  | 'renewalRequestedBy'
  | 'renewalRequestedByOwner'
  | 'renewalApprovalReasons'
  | 'renewalApprovedBy'
  | 'renewalApprovedByOwner'
  | 'renewalApprovedAt'
  | 'lastMatchedAt'
  | 'matchCount'
  | 'heloCheckedAt'
  | 'noLongerNeededSince'
  | 'noLongerNeededEvidence'
  | 'keptReason'
  | 'keptBy'
  | 'keptByOwner'
  | 'keptAt'
  | 'version'
  | 'createdAt'
  | 'updatedAt'
>;

export type ExceptionChanges = Partial<
  Pick<
    ExceptionRecord,
    | 'status'
    | 'expiresAt'
    | 'approvedBy'
    | 'approvedByOwner'
    | 'approvedAt'
    | 'approvalNote'
    | 'rejectedBy'
    | 'rejectedByOwner'
    | 'rejectedAt'
    | 'rejectionReason'
    | 'revokedBy'
    | 'revokedAt'
    | 'revokeReason'
    | 'suspensionCauses'
    | 'suspendedAt'
    | 'renewalExpiresAt'
    | 'renewalRequestedBy'
    | 'renewalRequestedByOwner'
    | 'renewalApprovalReasons'
    | 'renewalApprovedBy'
    | 'renewalApprovedByOwner'
    | 'renewalApprovedAt'
    | 'noLongerNeededSince'
    | 'keptReason'
    | 'keptBy'
    | 'keptByOwner'
    | 'keptAt'
  >
> & { noLongerNeededEvidence?: unknown };

/** A mail server with its live addresses, as a grant copies them. */
export interface LiveServer {
  id: string;
  organizationId: string;
  heloHostname: string;
  addresses: string[];
}

export interface ExceptionFilter {
  organizationId?: string;
  mailServerId?: string;
  status?: ExceptionStatus;
  scope?: ExceptionScope;
  heloHostname?: string;
  /** Canonical address or prefix an exception's addresses must contain. */
  containing?: string;
  activeAt?: Date;
  expiresBefore?: Date;
  requestedBy?: string;
  /** Waiting for a second person: a pending grant, or a running exception's pending renewal (not expired). */
  awaitingApproval?: boolean;
  /** Not matched by a policy server at or after this instant (never matched counts as unused). */
  unusedSince?: Date;
}

/** A JSON column's value as Prisma writes it: SQL NULL for null. */
export function jsonOrNull(value: unknown): object | typeof Prisma.DbNull {
  return value === null || value === undefined ? Prisma.DbNull : (value as object);
}

/** The only place that touches Prisma for exceptions. */
@Injectable()
export class ExceptionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }

  insert(tx: Transaction, data: NewException): Promise<ExceptionRecord> {
    return tx.exception.create({
      data: {
        ...data,
        evidence: data.evidence as object,
        blocklistResult: jsonOrNull(data.blocklistResult),
        blocklistAccepted: jsonOrNull(data.blocklistAccepted),
      },
    }) as Promise<ExceptionRecord>;
  }

  findById(id: string): Promise<ExceptionRecord | null> {
    return this.prisma.exception.findUnique({ where: { id } }) as Promise<ExceptionRecord | null>;
  }

  async lockById(tx: Transaction, id: string): Promise<ExceptionRecord | null> {
    await tx.$queryRaw`SELECT id FROM exceptions WHERE id = ${id}::uuid FOR UPDATE`;
    return tx.exception.findUnique({ where: { id } }) as Promise<ExceptionRecord | null>;
  }

  update(tx: Transaction, id: string, changes: ExceptionChanges): Promise<ExceptionRecord> {
    const { noLongerNeededEvidence, ...rest } = changes;
    return tx.exception.update({
      where: { id },
      data: {
        ...rest,
        ...('noLongerNeededEvidence' in changes ? { noLongerNeededEvidence: jsonOrNull(noLongerNeededEvidence) } : {}),
        version: { increment: 1 },
        updatedAt: new Date(),
      },
    }) as Promise<ExceptionRecord>;
  }

  /** When the HELO name was last looked at: bookkeeping, not a change of the exception (no version bump). */
  async markHeloChecked(tx: Transaction, id: string, at: Date): Promise<void> {
    await tx.exception.update({ where: { id }, data: { heloCheckedAt: at } });
  }

  /** Running exceptions whose HELO name was not looked at since `checkedBefore`, least recently first. */
  async heloCheckDue(now: Date, checkedBefore: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.exception.findMany({
      where: {
        status: { in: ['pending_approval', 'active', 'suspended'] },
        expiresAt: { gt: now },
        OR: [{ heloCheckedAt: null }, { heloCheckedAt: { lt: checkedBefore } }],
      },
      select: { id: true },
      orderBy: [{ heloCheckedAt: { sort: 'asc', nulls: 'first' } }, { id: 'asc' }],
      take: limit,
    });
    return rows.map((row) => row.id);
  }

  /** An exception of this server and scope that is still running (pending, active or suspended, not expired). */
  async runningFor(tx: Transaction, mailServerId: string, scope: ExceptionScope, now: Date): Promise<boolean> {
    const count = await tx.exception.count({
      where: { mailServerId, scope, status: { in: ['pending_approval', 'active', 'suspended'] }, expiresAt: { gt: now } },
    });
    return count > 0;
  }

  /** The organization's exceptions in one of `statuses`, locked for the cascade that changes them. */
  async lockOrganizationExceptions(tx: Transaction, organizationId: string, statuses: readonly ExceptionStatus[]): Promise<ExceptionRecord[]> {
    await tx.$queryRaw`SELECT id FROM exceptions WHERE organization_id = ${organizationId}::uuid AND status::text = ANY(${[...statuses]}) FOR UPDATE`;
    return tx.exception.findMany({ where: { organizationId, status: { in: [...statuses] } }, orderBy: { createdAt: 'asc' } }) as Promise<
      ExceptionRecord[]
    >;
  }

  /** Running exceptions whose expiry has passed (the worker records their end). */
  async expiredRunning(now: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.exception.findMany({
      where: { status: { in: ['pending_approval', 'active', 'suspended'] }, expiresAt: { lte: now } },
      select: { id: true },
      orderBy: { expiresAt: 'asc' },
      take: limit,
    });
    return rows.map((row) => row.id);
  }

  async organizationStatus(tx: Transaction, organizationId: string): Promise<'active' | 'suspended' | null> {
    const row = await tx.organization.findUnique({ where: { id: organizationId }, select: { status: true } });
    return row?.status ?? null;
  }

  async verifiedDomainNames(tx: Transaction, organizationId: string): Promise<string[]> {
    const rows = await tx.domain.findMany({ where: { organizationId, status: 'verified' }, select: { name: true } });
    return rows.map((row) => row.name);
  }

  async list(filter: ExceptionFilter, now: Date, limit: number, after?: { at: Date; id: string }): Promise<ExceptionRecord[]> {
    const where: Prisma.Sql[] = [Prisma.sql`TRUE`];
    if (filter.organizationId) {
      where.push(Prisma.sql`e.organization_id = ${filter.organizationId}::uuid`);
    }
    if (filter.mailServerId) {
      where.push(Prisma.sql`e.mail_server_id = ${filter.mailServerId}::uuid`);
    }
    if (filter.scope) {
      where.push(Prisma.sql`e.scope = ${filter.scope}::exception_scope`);
    }
    if (filter.heloHostname) {
      where.push(Prisma.sql`e.helo_hostname = ${filter.heloHostname}`);
    }
    if (filter.requestedBy) {
      where.push(Prisma.sql`e.requested_by = ${filter.requestedBy}::uuid`);
    }
    if (filter.containing) {
      where.push(Prisma.sql`EXISTS (SELECT 1 FROM unnest(e.addresses) AS a WHERE a::inet >>= ${filter.containing}::inet)`);
    }
    if (filter.expiresBefore) {
      where.push(Prisma.sql`e.expires_at < ${filter.expiresBefore}`);
    }
    if (filter.awaitingApproval) {
      where.push(
        Prisma.sql`(e.status = 'pending_approval' OR (e.status IN ('active', 'suspended') AND e.renewal_expires_at IS NOT NULL)) AND e.expires_at > ${now}`,
      );
    }
    if (filter.unusedSince) {
      where.push(Prisma.sql`(e.last_matched_at IS NULL OR e.last_matched_at < ${filter.unusedSince})`);
    }
    if (filter.activeAt) {
      where.push(Prisma.sql`e.status = 'active' AND e.starts_at <= ${filter.activeAt} AND e.expires_at > ${filter.activeAt}`);
    }
    if (filter.status) {
      // Statuses as they are now: a running exception past its expiry is expired.
      if (filter.status === 'expired') {
        where.push(Prisma.sql`(e.status = 'expired' OR (e.status IN ('pending_approval', 'active', 'suspended') AND e.expires_at <= ${now}))`);
      } else if (['pending_approval', 'active', 'suspended'].includes(filter.status)) {
        where.push(Prisma.sql`e.status = ${filter.status}::exception_status AND e.expires_at > ${now}`);
      } else {
        where.push(Prisma.sql`e.status = ${filter.status}::exception_status`);
      }
    }
    if (after) {
      where.push(Prisma.sql`(e.created_at, e.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    }
    const ids = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT e.id FROM exceptions e WHERE ${Prisma.join(where, ' AND ')}
      ORDER BY e.created_at DESC, e.id DESC LIMIT ${limit}`;
    const rows = await this.prisma.exception.findMany({
      where: { id: { in: ids.map((row) => row.id) } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
    return rows as ExceptionRecord[];
  }

  /**
   * Exceptions in effect at `now` that let this (HELO, client address) pass,
   * each by its scope: pair needs both, ip the address, helo the name.
   */
  async covering(heloHostname: string | null, address: string | null, now: Date): Promise<ExceptionRecord[]> {
    const contains = address === null ? Prisma.sql`FALSE` : Prisma.sql`EXISTS (SELECT 1 FROM unnest(e.addresses) AS a WHERE a::inet >>= ${address}::inet)`;
    const named = heloHostname === null ? Prisma.sql`FALSE` : Prisma.sql`e.helo_hostname = ${heloHostname}`;
    const ids = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT e.id FROM exceptions e JOIN organizations o ON o.id = e.organization_id
      WHERE e.status = 'active' AND o.status = 'active' AND e.starts_at <= ${now} AND e.expires_at > ${now}
        AND ((e.scope = 'pair' AND ${named} AND ${contains}) OR (e.scope = 'ip' AND ${contains}) OR (e.scope = 'helo' AND ${named}))
      ORDER BY e.expires_at DESC LIMIT 10`;
    const rows = await this.prisma.exception.findMany({ where: { id: { in: ids.map((row) => row.id) } }, orderBy: { expiresAt: 'desc' } });
    return rows as ExceptionRecord[];
  }

  /**
   * What the map renderings let through, which is more than the exceptions
   * say: the cidr map (`postfix-cidr`, `rspamd-ip`) lists the addresses of
   * `pair` and `ip` exceptions, so it passes any HELO name from them; the
   * HELO map (`postfix-helo`) lists `helo` names, which Postfix by default
   * (parent_domain_matches_subdomains) also matches for every subdomain.
   */
  async mapCoverage(
    heloHostname: string | null,
    address: string | null,
    now: Date,
  ): Promise<{
    cidr: { id: string; organizationId: string; scope: ExceptionScope } | null;
    helo: { id: string; organizationId: string; name: string } | null;
  }> {
    const active = Prisma.sql`e.status = 'active' AND o.status = 'active' AND e.starts_at <= ${now} AND e.expires_at > ${now}`;
    const [cidr] =
      address === null
        ? []
        : await this.prisma.$queryRaw<{ id: string; organizationId: string; scope: ExceptionScope }[]>`
            SELECT e.id, e.organization_id AS "organizationId", e.scope FROM exceptions e JOIN organizations o ON o.id = e.organization_id
            WHERE ${active} AND e.scope IN ('pair', 'ip')
              AND EXISTS (SELECT 1 FROM unnest(e.addresses) AS a WHERE a::inet >>= ${address}::inet)
            ORDER BY e.expires_at DESC LIMIT 1`;
    const [helo] =
      heloHostname === null
        ? []
        : await this.prisma.$queryRaw<{ id: string; organizationId: string; name: string }[]>`
            SELECT e.id, e.organization_id AS "organizationId", e.helo_hostname AS name FROM exceptions e JOIN organizations o ON o.id = e.organization_id
            WHERE ${active} AND e.scope = 'helo'
              AND (e.helo_hostname = ${heloHostname} OR right(${heloHostname}, length(e.helo_hostname) + 1) = '.' || e.helo_hostname)
            ORDER BY length(e.helo_hostname) DESC, e.expires_at DESC LIMIT 1`;
    return { cidr: cidr ?? null, helo: helo ?? null };
  }

  /**
   * The mail server an exception is granted for, as it is now, locked until
   * the transaction ends: a PATCH of its name or addresses (which takes the
   * same lock) waits, and then sees the exception written meanwhile.
   */
  async lockLiveServer(tx: Transaction, id: string): Promise<LiveServer | null> {
    await tx.$queryRaw`SELECT id FROM mail_servers WHERE id = ${id}::uuid AND deleted_at IS NULL FOR UPDATE`;
    return this.liveServer(tx, id);
  }

  /** The mail server as it is now, without a lock (a preview reads what a grant would lock). */
  async liveServer(tx: Transaction, id: string): Promise<LiveServer | null> {
    const row = await tx.mailServer.findFirst({
      where: { id, deletedAt: null },
      include: { addresses: { where: { deletedAt: null }, orderBy: { position: 'asc' } } },
    });
    return row
      ? { id: row.id, organizationId: row.organizationId, heloHostname: row.heloHostname, addresses: row.addresses.map((a) => canonicalFromInet(a.prefix)) }
      : null;
  }
}
