import { Injectable } from '@nestjs/common';
import { PrismaService, type Prisma } from '@app/database';
import { csvRecord, RuleViolationError } from '@app/domain';

/** One exception that let mail through at some moment of the range, and everything an auditor asks about it. */
export interface GrantRow {
  exceptionId: string;
  organization: { id: string; name: string; customerRef: string | null };
  mailServer: { id: string; heloHostname: string };
  scope: string;
  heloHostname: string;
  addresses: string[];
  /** The ownership proof copied onto the exception when it was granted. */
  proofAtGrant: unknown;
  override: boolean;
  justification: string | null;
  requestedBy: { name: string; owner: string };
  approvedBy: { owner: string } | null;
  approvalReasons: string[];
  reason: string;
  ticketRef: string | null;
  startsAt: Date;
  /** When it stopped letting mail through (revocation, expiry), or will. */
  endsAt: Date;
  /** `still_active`, `suspended`, `expired`, `revoked`. */
  ending: string;
  revokeReason: string | null;
  usage: { matchCount: number; lastMatchedAt: Date | null };
}

const JSON_LIMIT = 10_000;
const BATCH = 1000;

export const GRANT_CSV_COLUMNS = [
  'exceptionId', 'organizationId', 'organizationName', 'customerRef', 'mailServerId', 'scope', 'heloHostname', 'addresses',
  'proofAtGrant', 'override', 'justification', 'requestedByName', 'requestedByOwner', 'approvedByOwner', 'approvalReasons',
  'reason', 'ticketRef', 'startsAt', 'endsAt', 'ending', 'revokeReason', 'matchCount', 'lastMatchedAt',
] as const;

type Row = Prisma.ExceptionGetPayload<{ include: { organization: true; mailServer: true } }>;

function toGrant(row: Row): GrantRow {
  const ending =
    row.status === 'revoked' ? 'revoked' : row.status === 'expired' ? 'expired' : row.status === 'suspended' ? 'suspended' : 'still_active';
  return {
    exceptionId: row.id,
    organization: { id: row.organization.id, name: row.organization.name, customerRef: row.organization.customerRef },
    mailServer: { id: row.mailServer.id, heloHostname: row.mailServer.heloHostname },
    scope: row.scope,
    heloHostname: row.heloHostname,
    addresses: row.addresses,
    proofAtGrant: row.evidence,
    override: row.override,
    justification: row.justification,
    requestedBy: { name: row.requestedByName, owner: row.requestedByOwner },
    approvedBy: row.approvedByOwner === null ? null : { owner: row.approvedByOwner },
    approvalReasons: row.approvalReasons,
    reason: row.reason,
    ticketRef: row.ticketRef,
    startsAt: row.startsAt,
    endsAt: row.revokedAt !== null && row.revokedAt < row.expiresAt ? row.revokedAt : row.expiresAt,
    ending,
    revokeReason: row.revokeReason,
    usage: { matchCount: Number(row.matchCount), lastMatchedAt: row.lastMatchedAt },
  };
}

/**
 * The grants report: every exception that was in force at any moment of
 * [from, to) — granted (approved where it had to be), started before `to`,
 * not ended (expired or revoked) before `from`.
 */
@Injectable()
export class GrantsReportService {
  constructor(private readonly prisma: PrismaService) {}

  private where(from: Date, to: Date): Prisma.ExceptionWhereInput {
    if (from >= to) {
      throw new RuleViolationError('from must be before to');
    }
    return {
      startsAt: { lt: to },
      expiresAt: { gt: from },
      OR: [
        { status: { in: ['active', 'suspended', 'expired'] } },
        // Revoked after it was in force (a request withdrawn before approval never let mail through).
        { status: 'revoked', revokedAt: { gt: from }, OR: [{ approvedAt: { not: null } }, { approvalReasons: { isEmpty: true } }] },
      ],
    };
  }

  async json(from: Date, to: Date): Promise<{ from: Date; to: Date; items: GrantRow[]; truncated: boolean }> {
    const rows = await this.prisma.exception.findMany({
      where: this.where(from, to),
      include: { organization: true, mailServer: true },
      orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
      take: JSON_LIMIT + 1,
    });
    return { from, to, items: rows.slice(0, JSON_LIMIT).map(toGrant), truncated: rows.length > JSON_LIMIT };
  }

  /** The same as CSV (formula-safe), batch by batch: any size. */
  csv(from: Date, to: Date): AsyncGenerator<string> {
    const where = this.where(from, to);
    const prisma = this.prisma;
    return (async function* () {
      yield csvRecord([...GRANT_CSV_COLUMNS]);
      let cursor: string | undefined;
      for (;;) {
        const rows: Row[] = await prisma.exception.findMany({
          where,
          include: { organization: true, mailServer: true },
          orderBy: { id: 'asc' },
          take: BATCH,
          ...(cursor === undefined ? {} : { cursor: { id: cursor }, skip: 1 }),
        });
        for (const grant of rows.map(toGrant)) {
          yield csvRecord([
            grant.exceptionId, grant.organization.id, grant.organization.name, grant.organization.customerRef, grant.mailServer.id,
            grant.scope, grant.heloHostname, grant.addresses.join(' '), JSON.stringify(grant.proofAtGrant), String(grant.override),
            grant.justification, grant.requestedBy.name, grant.requestedBy.owner, grant.approvedBy?.owner ?? null, grant.approvalReasons.join(' '),
            grant.reason, grant.ticketRef, grant.startsAt.toISOString(), grant.endsAt.toISOString(), grant.ending, grant.revokeReason,
            grant.usage.matchCount, grant.usage.lastMatchedAt?.toISOString() ?? null,
          ]);
        }
        if (rows.length < BATCH) {
          return;
        }
        cursor = rows.at(-1)!.id;
      }
    })();
  }
}
