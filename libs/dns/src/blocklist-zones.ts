import ipaddr from 'ipaddr.js';
import type { DnsOutcome } from './types.js';

/** An inclusive range of IPv4 answer addresses, as 32-bit numbers. */
export interface ReturnCodeRange {
  readonly from: number;
  readonly to: number;
}

/** One DNS blocklist (a DNSxL, RFC 5782) and the answers that count as "listed". */
export interface BlocklistZone {
  /** Lowercase, without a trailing dot: `zen.spamhaus.org`. */
  readonly name: string;
  /** Absent: any answer in 127.0.0.0/8 counts as listed (RFC 5782 §2.1), error answers aside. */
  readonly codes?: readonly ReturnCodeRange[];
}

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
const LOOPBACK_RANGE = { from: 127 * 2 ** 24, to: 128 * 2 ** 24 - 1 };
const ERROR_RANGE = { from: LOOPBACK_RANGE.to - 255, to: LOOPBACK_RANGE.to };
const ERROR_MEANINGS: Record<string, string> = {
  '127.255.255.252': 'the list refused the query (mistyped access key)',
  '127.255.255.254': 'the list refused the query (asked through a public or open resolver)',
  '127.255.255.255': 'the list refused the query (too many queries)',
};

// RFC 1035 §2.3.1 labels; underscores too, as some list operators use them.
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function toNumber(address: ipaddr.IPv4): number {
  return address.octets.reduce((value, octet) => value * 256 + octet, 0);
}

function parseCode(text: string, where: string): ReturnCodeRange {
  const bad = () => new Error(`${where}: "${text}" is not an IPv4 address, an address range a-b or a CIDR prefix`);
  let range: ReturnCodeRange;
  if (text.includes('/')) {
    let cidr: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      cidr = ipaddr.IPv4.parseCIDR(text);
    } catch {
      throw bad();
    }
    const [network, length] = cidr as [ipaddr.IPv4, number];
    const from = toNumber(ipaddr.IPv4.networkAddressFromCIDR(`${network.toString()}/${length}`));
    range = { from, to: from + 2 ** (32 - length) - 1 };
  } else {
    const [first, last = first, ...rest] = text.split('-');
    if (rest.length > 0 || first === undefined || !ipaddr.IPv4.isValidFourPartDecimal(first) || !ipaddr.IPv4.isValidFourPartDecimal(last)) {
      throw bad();
    }
    range = { from: toNumber(ipaddr.IPv4.parse(first)), to: toNumber(ipaddr.IPv4.parse(last)) };
    if (range.from > range.to) {
      throw new Error(`${where}: range "${text}" ends before it starts`);
    }
  }
  if (range.from < LOOPBACK_RANGE.from || range.to > LOOPBACK_RANGE.to) {
    // RFC 5782 §2.1: list entries answer with addresses in 127.0.0.0/8; anything else is not a listing.
    throw new Error(`${where}: return code "${text}" is outside 127.0.0.0/8`);
  }
  return range;
}

function fromNumber(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/**
 * Parses a `DNSBL_ZONES` / `DNSBL_DOMAIN_ZONES` value: comma-separated zones,
 * each optionally followed by `:`-separated return codes (an address, a range
 * `a-b` or a CIDR prefix), e.g.
 * `zen.spamhaus.org:127.0.0.2-127.0.0.11,bl.example.net`. Blank means no
 * zones (the check is off). Throws an Error naming the first bad entry.
 */
export function parseBlocklistZones(text: string): BlocklistZone[] {
  if (text.trim() === '') {
    return [];
  }
  const seen = new Set<string>();
  return text.split(',').map((raw) => {
    const entry = raw.trim();
    if (entry === '') {
      throw new Error('has an empty entry');
    }
    const [zoneText = '', ...codeTexts] = entry.split(':');
    const lower = zoneText.toLowerCase();
    const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
    if (name.length === 0 || name.length > 190 || !name.includes('.') || !name.split('.').every((label) => LABEL.test(label))) {
      // 190: an IPv6 query name puts 64 octets in front of the zone, and a name has at most 253 (RFC 1035 §2.3.4).
      throw new Error(`zone "${zoneText}" is not a DNS zone name of at most 190 characters`);
    }
    if (seen.has(name)) {
      throw new Error(`zone "${name}" is listed twice`);
    }
    seen.add(name);
    if (codeTexts.length === 0) {
      return { name };
    }
    const codes = codeTexts.map((code) => parseCode(code.trim(), `zone "${name}"`));
    for (const code of codes) {
      if (code.from <= ERROR_RANGE.to && code.to >= ERROR_RANGE.from) {
        throw new Error(`zone "${name}": return codes in 127.255.255.0/24 are the lists' error answers, never listings`);
      }
    }
    return { name, codes };
  });
}

/** Renders a zone back in the `DNSBL_ZONES` syntax (for logs and reports). */
export function formatBlocklistZone(zone: BlocklistZone): string {
  const codes = (zone.codes ?? []).map(({ from, to }) => (from === to ? fromNumber(from) : `${fromNumber(from)}-${fromNumber(to)}`));
  return [zone.name, ...codes].join(':');
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
