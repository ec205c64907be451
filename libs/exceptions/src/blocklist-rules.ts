import type { BlocklistReport, ListedFinding } from '@app/dns';

/** A listing an admin's override accepted at grant time: that address or name, in that zone. */
export interface AcceptedListing {
  readonly subject: string;
  readonly zone: string;
  readonly answers: readonly string[];
}

const SHOWN_LISTINGS = 5;

/** One line per listing for a problem message: `192.0.2.1 in zen.example.net (127.0.0.2: reason)`. */
export function describeListings(listed: readonly ListedFinding[]): string {
  const lines = listed
    .slice(0, SHOWN_LISTINGS)
    .map((item) => `${item.subject} in ${item.zone} (${item.answers.join(', ')}${item.reason === undefined ? '' : `: ${item.reason}`})`);
  const more = listed.length - SHOWN_LISTINGS;
  return more > 0 ? `${lines.join('; ')}; and ${more} more` : lines.join('; ');
}

/**
 * The listings that count against an exception: all of them, less those an
 * override accepted (the same address or name in the same zone, whatever
 * the answer code; a list that re-codes an entry has not found anything new).
 */
export function listingsAgainst(report: Pick<BlocklistReport, 'listed'>, accepted: readonly AcceptedListing[] | null): ListedFinding[] {
  const key = (item: { subject: string; zone: string }) => `${item.subject}\n${item.zone}`;
  const overridden = new Set((accepted ?? []).map(key));
  return report.listed.filter((item) => !overridden.has(key(item)));
}

export type BlocklistVerdictForException = 'suspend' | 'restore' | 'unchanged';

/**
 * What a re-check means for a running exception. A listing (not accepted by
 * its override) suspends it. It is restored only by a check that finds no
 * such listing *and* got an answer for every lookup: DNS trouble never
 * counts as listed, and never as delisted either.
 */
export function blocklistVerdict(
  suspendedForBlocklist: boolean,
  report: Pick<BlocklistReport, 'listed' | 'unknown'>,
  accepted: readonly AcceptedListing[] | null,
): BlocklistVerdictForException {
  const against = listingsAgainst(report, accepted);
  if (against.length > 0) {
    return suspendedForBlocklist ? 'unchanged' : 'suspend';
  }
  if (suspendedForBlocklist && report.unknown.length === 0) {
    return 'restore';
  }
  return 'unchanged';
}
