/**
 * SPF records (RFC 7208 §4.5, §5, §6): which TXT records are SPF records, and
 * the syntax of their terms.
 */
import { parseIp, prefixLength, type Ip } from './spf-address.js';
import { domainSpecProblem } from './spf-macros.js';

export type Qualifier = '+' | '-' | '~' | '?';

export interface Mechanism {
  term: string;
  qualifier: Qualifier;
  kind: 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';
  domainSpec: string | null;
  network: Ip | null;
  v4Length: number;
  v6Length: number;
}

export interface SpfRecord {
  mechanisms: Mechanism[];
  redirect: { term: string; domainSpec: string } | null;
}

/** The TXT records that are SPF records. */
export function selectSpfRecords(records: string[]): string[] {
  // §4.5: "v=spf1" followed by a space or the end, in any case.
  return records.filter((text) => /^v=spf1( |$)/i.test(text));
}

function parseMechanism(term: string): Mechanism | string {
  const parts = /^([+\-~?]?)([a-z][a-z0-9]*)(.*)$/i.exec(term);
  if (!parts) {
    return `"${term}" is not a mechanism or modifier`;
  }
  const qualifier = (parts[1] || '+') as Qualifier;
  const name = parts[2]!.toLowerCase();
  const rest = parts[3]!;
  const base = { term, qualifier, domainSpec: null, network: null, v4Length: 32, v6Length: 128 };
  const malformed = `"${term}" is malformed`;
  switch (name) {
    case 'all':
      return rest === '' ? { ...base, kind: name } : malformed;
    case 'include':
    case 'exists':
    case 'ptr': {
      if (name === 'ptr' && rest === '') {
        return { ...base, kind: name };
      }
      const problem = rest.startsWith(':') ? domainSpecProblem(rest.slice(1)) : 'needs ":" and a domain';
      return problem ? `"${term}" ${problem}` : { ...base, kind: name, domainSpec: rest.slice(1) };
    }
    case 'a':
    case 'mx': {
      // a[:domain][/ip4-cidr][//ip6-cidr] (§5.3, §5.4)
      const [, head, v4, v6] = /^(.*?)(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(rest)!;
      const v4Length = prefixLength(v4, 32);
      const v6Length = prefixLength(v6, 128);
      if ((head !== '' && !head!.startsWith(':')) || v4Length === null || v6Length === null) {
        return malformed;
      }
      const problem = head === '' ? null : domainSpecProblem(head!.slice(1));
      return problem
        ? `"${term}" ${problem}`
        : { ...base, kind: name, domainSpec: head === '' ? null : head!.slice(1), v4Length, v6Length };
    }
    case 'ip4':
    case 'ip6': {
      const [, address, length] = /^:([^/]+)(?:\/(.*))?$/.exec(rest) ?? [];
      const network = address === undefined ? null : parseIp(address);
      const bits = name === 'ip4' ? 32 : 128;
      const networkLength = prefixLength(length, bits);
      if (!network || network.kind() !== (name === 'ip4' ? 'ipv4' : 'ipv6') || networkLength === null) {
        return malformed;
      }
      return { ...base, kind: name, network, v4Length: networkLength, v6Length: networkLength };
    }
    default:
      return `unknown mechanism "${parts[2]}"`;
  }
}

/** Parses the whole record first: a syntax error anywhere is a permerror (§4.6). */
export function parseRecord(text: string): SpfRecord | string {
  const record: SpfRecord = { mechanisms: [], redirect: null };
  let exp = false;
  for (const term of text.slice('v=spf1'.length).split(' ').filter((part) => part !== '')) {
    const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(term);
    if (!modifier) {
      const mechanism = parseMechanism(term);
      if (typeof mechanism === 'string') {
        return mechanism;
      }
      record.mechanisms.push(mechanism);
      continue;
    }
    const name = modifier[1]!.toLowerCase();
    if (name !== 'redirect' && name !== 'exp') {
      continue; // unknown modifiers are ignored (§6)
    }
    if ((name === 'redirect' && record.redirect) || (name === 'exp' && exp)) {
      return `${name}= appears more than once (§6)`;
    }
    const problem = domainSpecProblem(modifier[2]!);
    if (problem) {
      return `"${term}" ${problem}`;
    }
    if (name === 'redirect') {
      record.redirect = { term, domainSpec: modifier[2]! };
    } else {
      exp = true; // the explanation is only for rejection messages: not fetched
    }
  }
  return record;
}
