import { Prisma } from '@app/database';

/** An exception as timed events and the stale report carry it: what a receiver or a contact needs, no proof. */
export interface ExceptionSummary {
  id: string;
  organizationId: string;
  mailServerId: string;
  scope: string;
  status: string;
  heloHostname: string;
  addresses: string[];
  reason: string;
  ticketRef: string | null;
  startsAt: Date;
  expiresAt: Date;
  requestedByOwner: string;
  approvedByOwner: string | null;
  lastMatchedAt: Date | null;
  matchCount: number;
  createdAt: Date;
}

export interface OrganizationSummary {
  id: string;
  name: string;
  customerRef: string | null;
  technicalContacts: string[];
}

/** The columns SUMMARY_COLUMNS selects, as PostgreSQL hands them back. */
export interface SummaryRow {
  id: string;
  organization_id: string;
  mail_server_id: string;
  scope: string;
  status: string;
  helo_hostname: string;
  addresses: string[];
  reason: string;
  ticket_ref: string | null;
  starts_at: Date;
  expires_at: Date;
  requested_by_owner: string;
  approved_by_owner: string | null;
  last_matched_at: Date | null;
  match_count: string;
  created_at: Date;
  organization_name: string;
  customer_ref: string | null;
  technical_contacts: string[];
}

/** Selected from `exceptions e JOIN organizations o`. */
export const SUMMARY_COLUMNS = Prisma.sql`
  e.id::text AS id, e.organization_id::text AS organization_id, e.mail_server_id::text AS mail_server_id,
  e.scope::text AS scope, e.status::text AS status, e.helo_hostname, e.addresses, e.reason, e.ticket_ref,
  e.starts_at, e.expires_at, e.requested_by_owner, e.approved_by_owner, e.last_matched_at,
  e.match_count::text AS match_count, e.created_at,
  o.name AS organization_name, o.customer_ref, o.technical_contacts`;

export function toExceptionSummary(row: SummaryRow): ExceptionSummary {
  return {
    id: row.id,
    organizationId: row.organization_id,
    mailServerId: row.mail_server_id,
    scope: row.scope,
    status: row.status,
    heloHostname: row.helo_hostname,
    addresses: row.addresses,
    reason: row.reason,
    ticketRef: row.ticket_ref,
    startsAt: row.starts_at,
    expiresAt: row.expires_at,
    requestedByOwner: row.requested_by_owner,
    approvedByOwner: row.approved_by_owner,
    lastMatchedAt: row.last_matched_at,
    matchCount: Number(row.match_count),
    createdAt: row.created_at,
  };
}

export function toOrganizationSummary(row: SummaryRow): OrganizationSummary {
  return { id: row.organization_id, name: row.organization_name, customerRef: row.customer_ref, technicalContacts: row.technical_contacts };
}
