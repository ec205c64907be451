import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { Clock, cursorPosition, toPage, type Page } from '@app/domain';
import { csvRecord } from './csv.js';
import { StaleExceptionsRepository, type StaleRow } from './stale-exceptions.repository.js';

const DAY_MS = 86_400_000;
const CSV_BATCH = 500;

/** One row of the stale-exception report: the exception, its usage, who owns it and whom to tell. */
export interface StaleException {
  id: string;
  organizationId: string;
  organizationName: string;
  customerRef: string | null;
  technicalContacts: string[];
  mailServerId: string;
  heloHostname: string;
  addresses: string[];
  scope: string;
  startsAt: Date;
  expiresAt: Date;
  lastMatchedAt: Date | null;
  matchCount: number;
  /** The last match, or the start when never matched. */
  unusedSince: Date;
  unusedDays: number;
  requestedByOwner: string;
  approvedByOwner: string | null;
}

export interface StaleReportPage extends Page<StaleException> {
  unusedDays: number;
  asOf: Date;
}

const CSV_COLUMNS = [
  'id',
  'organizationId',
  'organizationName',
  'customerRef',
  'technicalContacts',
  'mailServerId',
  'heloHostname',
  'addresses',
  'scope',
  'startsAt',
  'expiresAt',
  'lastMatchedAt',
  'matchCount',
  'unusedSince',
  'unusedDays',
  'requestedByOwner',
  'approvedByOwner',
] as const;

function toItem(row: StaleRow, now: Date): StaleException {
  return {
    id: row.id,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
    customerRef: row.customer_ref,
    technicalContacts: row.technical_contacts,
    mailServerId: row.mail_server_id,
    heloHostname: row.helo_hostname,
    addresses: row.addresses,
    scope: row.scope,
    startsAt: row.starts_at,
    expiresAt: row.expires_at,
    lastMatchedAt: row.last_matched_at,
    matchCount: Number(row.match_count),
    unusedSince: row.unused_since,
    unusedDays: Math.floor((now.getTime() - row.unused_since.getTime()) / DAY_MS),
    requestedByOwner: row.requested_by_owner,
    approvedByOwner: row.approved_by_owner,
  };
}

function csvOf(item: StaleException): string {
  const iso = (date: Date | null) => (date === null ? null : date.toISOString());
  return csvRecord([
    item.id,
    item.organizationId,
    item.organizationName,
    item.customerRef,
    item.technicalContacts.join(' '),
    item.mailServerId,
    item.heloHostname,
    item.addresses.join(' '),
    item.scope,
    iso(item.startsAt),
    iso(item.expiresAt),
    iso(item.lastMatchedAt),
    item.matchCount,
    iso(item.unusedSince),
    item.unusedDays,
    item.requestedByOwner,
    item.approvedByOwner,
  ]);
}

/**
 * `GET /v1/reports/stale-exceptions`: active exceptions with no match in
 * `unusedDays` days (usage as the policy server reports it), or never
 * matched and older than that — candidates to withdraw, with their owners
 * and the organization's technical contacts. Read-only: nothing is revoked.
 */
@Injectable()
export class StaleExceptionsReport {
  constructor(
    private readonly stale: StaleExceptionsRepository,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** `unusedDays` absent: STALE_EXCEPTION_UNUSED_DAYS. */
  async page(requestedDays: number | undefined, limit: number, cursor?: string): Promise<StaleReportPage> {
    const unusedDays = requestedDays ?? this.config.notifications.stale.unusedDays;
    const after = cursorPosition(cursor);
    const now = this.clock.now();
    const rows = await this.stale.list(now, new Date(now.getTime() - unusedDays * DAY_MS), limit + 1, { after });
    const page = toPage(rows, limit, (row) => toItem(row, now), (row) => ({ at: row.unused_since, id: row.id }));
    return { unusedDays, asOf: now, ...page };
  }

  /** The whole report as CSV, header first, read in batches as it is sent. */
  async *csv(requestedDays: number | undefined): AsyncGenerator<string> {
    const unusedDays = requestedDays ?? this.config.notifications.stale.unusedDays;
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - unusedDays * DAY_MS);
    yield csvRecord([...CSV_COLUMNS]);
    let after: { at: Date; id: string } | undefined;
    for (;;) {
      const rows = await this.stale.list(now, cutoff, CSV_BATCH, { after });
      yield rows.map((row) => csvOf(toItem(row, now))).join('');
      const last = rows.at(-1);
      if (last === undefined || rows.length < CSV_BATCH) {
        return;
      }
      after = { at: last.unused_since, id: last.id };
    }
  }
}
