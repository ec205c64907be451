import ipaddr from 'ipaddr.js';
import { evaluateSpf, spfProves, type DnsCheck, type DnsLookup } from '@app/dns';

/** Why one address of a mail server belongs (or is not shown to belong) to the organization. */
export interface AddressEvidence {
  address: string;
  proven: boolean;
  /** `ptr` or `spf` when proven. */
  method: 'ptr' | 'spf' | null;
  /** The verified domain the proof rests on. */
  domain: string | null;
  /** PTR names seen (single addresses only). */
  ptrNames: string[];
  /** The deciding SPF mechanism, when SPF proved it. */
  spfMechanism: string | null;
  reason: string;
}

export interface HeloEvidence {
  heloHostname: string;
  proven: boolean;
  domain: string | null;
  reason: string;
}

export interface Evidence {
  heloHostname: string;
  addresses: string[];
  /** The organization's verified domains when this was computed. */
  verifiedDomains: string[];
  helo: HeloEvidence;
  addressEvidence: AddressEvidence[];
  /** Every address proven: what `pair` and `ip` exceptions need. */
  addressesProven: boolean;
  /**
   * Addresses proven by SPF alone. SPF is the customer's own claim (anyone may
   * list any address), so these are claimed, not shown to be owned: a grant
   * resting on them needs a second person (approval reason `spf_only`).
   */
  spfOnlyAddresses: string[];
  /** The HELO name proven: what `helo` exceptions need. */
  heloProven: boolean;
  /** Both. */
  verified: boolean;
  /** How the DNS work of this computation went (DESIGN.md, Ownership §7). */
  dnsCheck: DnsCheckSummary;
}

export interface DnsCheckSummary {
  /** DNS questions sent (a question asked again within the check is answered from memory). */
  lookups: number;
  deadlineMs: number;
  /**
   * Set when the deadline passed: what was not settled by then is "could not
   * tell" (reason says so), not "not proven" — try again later.
   */
  deadlineExceeded: string | null;
}

/** Proven addresses whose proof is SPF alone (computed from the items, so evidence stored before the field existed reads the same). */
export function addressesOnSpfAlone(evidence: { addressEvidence?: Pick<AddressEvidence, 'address' | 'proven' | 'method'>[] }): string[] {
  return (evidence.addressEvidence ?? []).filter((item) => item.proven && item.method === 'spf').map((item) => item.address);
}

/** `name` equals `domain` or lies under it (label-wise: `evilexample.com` is not under `example.com`). */
export function isWithin(name: string, domain: string): boolean {
  return name === domain || name.endsWith('.' + domain);
}

function covering(name: string, domains: string[]): string | null {
  return domains.find((domain) => isWithin(name, domain)) ?? null;
}

function heloEvidence(heloHostname: string, domains: string[]): HeloEvidence {
  const domain = covering(heloHostname, domains);
  if (domain) {
    return { heloHostname, proven: true, domain, reason: `lies in the verified domain ${domain}` };
  }
  return {
    heloHostname,
    proven: false,
    domain: null,
    reason:
      domains.length === 0
        ? 'the organization has no verified domain yet'
        : `is not inside a verified domain of the organization (${domains.join(', ')})`,
  };
}

/**
 * A PTR name proves an address only when it lies in a verified domain AND
 * resolves back to the address (forward-confirmed reverse DNS): whoever
 * controls a reverse zone can point it at any name, but only the domain's
 * owner can make that name point back.
 */
async function ptrEvidence(address: string, domains: string[], dns: DnsLookup): Promise<Partial<AddressEvidence> & { notes: string[] }> {
  const outcome = await dns.ptr(address);
  if (outcome.status !== 'ok') {
    // Named by the resolver that said it, so "no PTR record" can be told from our DNS's trouble.
    const from = outcome.resolver !== '' ? ` at ${outcome.resolver}` : '';
    const why = outcome.status === 'nxdomain' || outcome.status === 'nodata' ? `no PTR record${from}` : `PTR lookup failed${from} (${outcome.status})`;
    return { ptrNames: [], notes: [why] };
  }
  const ptrNames = outcome.records;
  const notes: string[] = [];
  const family = ipaddr.parse(address).kind();
  for (const name of ptrNames) {
    const domain = covering(name, domains);
    if (!domain) {
      continue;
    }
    const forward = family === 'ipv4' ? await dns.a(name) : await dns.aaaa(name);
    const addresses = forward.status === 'ok' ? forward.records.map((record) => ipaddr.parse(record).toNormalizedString()) : [];
    if (addresses.includes(ipaddr.parse(address).toNormalizedString())) {
      return { ptrNames, proven: true, method: 'ptr', domain, reason: `PTR ${name} lies in ${domain} and resolves back to it`, notes: [] };
    }
    notes.push(`PTR ${name} lies in ${domain} but does not resolve back to the address`);
  }
  if (notes.length === 0) {
    notes.push(`PTR ${ptrNames.join(', ')} not inside a verified domain`);
  }
  return { ptrNames, notes };
}

function couldNotTell(deadline: string, notes: string[]): string {
  const before = notes.length > 0 ? `; seen before that: ${notes.join('; ')}` : '';
  return `could not tell: ${deadline}; check again later${before}`;
}

/**
 * Works out, from DNS, which of a mail server's claims the organization's
 * verified domains prove. All its lookups go through one DnsCheck: one
 * deadline for the whole computation, each question asked once.
 */
export async function collectEvidence(
  server: { heloHostname: string; addresses: string[] },
  verifiedDomains: string[],
  dns: DnsCheck,
): Promise<Evidence> {
  const helo = heloEvidence(server.heloHostname, verifiedDomains);
  const addressEvidence: AddressEvidence[] = [];
  for (const cidr of server.addresses) {
    const [network, lengthText] = cidr.split('/') as [string, string];
    const single = Number(lengthText) === (network.includes(':') ? 128 : 32);
    const notes: string[] = [];
    let evidence: AddressEvidence = {
      address: cidr,
      proven: false,
      method: null,
      domain: null,
      ptrNames: [],
      spfMechanism: null,
      reason: '',
    };
    if (verifiedDomains.length === 0) {
      evidence.reason = 'the organization has no verified domain yet';
      addressEvidence.push(evidence);
      continue;
    }
    if (dns.deadlineExceeded !== null) {
      evidence.reason = couldNotTell(dns.deadlineExceeded, []);
      addressEvidence.push(evidence);
      continue;
    }
    if (single) {
      const ptr = await ptrEvidence(network, verifiedDomains, dns);
      evidence = { ...evidence, ...ptr, ptrNames: ptr.ptrNames ?? [] };
      notes.push(...ptr.notes);
    } else {
      notes.push('a prefix cannot be proven by PTR');
    }
    if (!evidence.proven) {
      for (const domain of verifiedDomains) {
        if (dns.deadlineExceeded !== null) {
          break;
        }
        const spf = await evaluateSpf(single ? network : cidr, domain, dns);
        if (spfProves(spf)) {
          evidence = { ...evidence, proven: true, method: 'spf', domain, spfMechanism: spf.mechanism, reason: spf.reason };
          break;
        }
        notes.push(`SPF of ${domain}: ${spf.result} (${spf.reason})`);
      }
    }
    if (!evidence.proven) {
      evidence.reason = dns.deadlineExceeded !== null ? couldNotTell(dns.deadlineExceeded, notes) : notes.join('; ');
    }
    addressEvidence.push(evidence);
  }
  const addressesProven = addressEvidence.every((item) => item.proven);
  return {
    heloHostname: server.heloHostname,
    addresses: server.addresses,
    verifiedDomains,
    helo,
    addressEvidence,
    addressesProven,
    spfOnlyAddresses: addressesOnSpfAlone({ addressEvidence }),
    heloProven: helo.proven,
    verified: addressesProven && helo.proven,
    dnsCheck: { lookups: dns.lookups, deadlineMs: dns.deadlineMs, deadlineExceeded: dns.deadlineExceeded },
  };
}
