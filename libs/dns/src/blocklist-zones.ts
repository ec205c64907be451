import ipaddr from 'ipaddr.js';
import type { BlocklistZone } from '@app/domain';
import type { DnsOutcome } from './types.js';

export { formatBlocklistZone, parseBlocklistZones, type BlocklistZone, type ReturnCodeRange } from '@app/domain';

/** How one list answered about one address or name. DNS trouble is `unknown`, never `listed`. */
export type BlocklistVerdict =
  | { readonly status: 'listed'; readonly answers: readonly string[]; readonly reason?: string }
  | { readonly status: 'not_listed'; readonly ignoredAnswers?: readonly string[] }
  | { readonly status: 'unknown'; readonly reason: string; readonly answers?: readonly string[] };

const LOOPBACK = ipaddr.parseCIDR('127.0.0.0/8');
/**
 * Answers in 127.255.255.0/24 are not listings: lists use them to say the
 * query itself was refused. Spamhaus documents 127.255.255.252 (mistyped
 * DQS key), 127.255.255.254 (query through a public or open resolver) and
 * 127.255.255.255 (too many queries); other lists borrowed the convention.
 * Reading one as "listed" would suspend every exception whenever a
 * resolver is rate-limited, so they are `unknown`.
 */
const ERROR_ANSWERS = ipaddr.parseCIDR('127.255.255.0/24');
const ERROR_MEANINGS: Record<string, string> = {
  '127.255.255.252': 'the list refused the query (mistyped access key)',
  '127.255.255.254': 'the list refused the query (asked through a public or open resolver)',
  '127.255.255.255': 'the list refused the query (too many queries)',
};

function toNumber(address: ipaddr.IPv4): number {
  return address.octets.reduce((value, octet) => value * 256 + octet, 0);
}

/**
 * Reads one list's answer about one query name (RFC 5782 §2.1): an A record
 * in 127.0.0.0/8 means listed, NXDOMAIN or NODATA means not listed. A
 * timeout, SERVFAIL, refusal or any other failure says nothing about the
 * listing and is `unknown`, never `listed`.
 */
export function classifyBlocklistAnswer(zone: BlocklistZone, outcome: DnsOutcome<string>): BlocklistVerdict {
  switch (outcome.status) {
    case 'nxdomain':
    case 'nodata':
      return { status: 'not_listed' };
    case 'ok':
      break;
    default:
      return { status: 'unknown', reason: `${outcome.status} (${outcome.error})` };
  }
  const answers = [...new Set(outcome.records)].sort();
  const parsed = answers.map((text) => (ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : undefined));
  const foreign = answers.filter((_, index) => !parsed[index]?.match(LOOPBACK as [ipaddr.IPv4, number]));
  if (foreign.length > 0) {
    // A resolver that rewrites NXDOMAIN into an ad server's address, or a zone that stopped serving: not a list's answer.
    return { status: 'unknown', reason: `not a blocklist answer (${foreign.join(', ')} is outside 127.0.0.0/8)`, answers };
  }
  const refusal = answers.find((_, index) => parsed[index]?.match(ERROR_ANSWERS as [ipaddr.IPv4, number]));
  if (refusal !== undefined) {
    return { status: 'unknown', reason: `${ERROR_MEANINGS[refusal] ?? 'the list answered with an error code'}: ${refusal}`, answers };
  }
  const codes = zone.codes;
  const counted =
    codes === undefined
      ? answers
      : answers.filter((_, index) => {
          const value = toNumber(parsed[index] as ipaddr.IPv4);
          return codes.some(({ from, to }) => value >= from && value <= to);
        });
  if (counted.length === 0) {
    // Answers the operator chose not to count (say Spamhaus PBL's 127.0.0.10-11 left out of ZEN's codes).
    return { status: 'not_listed', ignoredAnswers: answers };
  }
  return { status: 'listed', answers: counted };
}
