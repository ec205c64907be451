import type { TestDnsServer } from './dns-server.js';
import { bearer, createMailServer, createOrganization, unique, type TestApp } from './test-app.js';

/** A single address (no prefix, or a full-length one): the only kind PTR can prove. */
const isSingle = (address: string) => !address.includes('/') || /\/(32|128)$/.test(address);

/**
 * An organization with a domain verified through its TXT challenge, and a
 * mail server whose HELO name lies in it and whose addresses its SPF record
 * authorizes: everything a grant needs. Single addresses are also proven by
 * forward-confirmed PTR (`mx.<domain>` points back to them), so a grant on
 * them rests on owned addresses; with `proof: 'spf'`, or for prefixes (which
 * PTR cannot prove), SPF alone proves them, and a grant waits for a second
 * person (`spf_only`).
 */
export async function provenMailServer(
  t: TestApp,
  dns: TestDnsServer,
  options: { addresses?: string[]; helo?: string; proof?: 'ptr' | 'spf'; organizationId?: string } = {},
): Promise<{ organizationId: string; domainId: string; domain: string; mailServerId: string; heloHostname: string; addresses: string[] }> {
  const org = options.organizationId === undefined ? await createOrganization(t) : { id: options.organizationId };
  const domain = `${unique('grant')}.example.com`;
  const created = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name: domain }).expect(201);
  dns.txt(created.body.challenge.recordName, [created.body.challenge.recordValue]);
  await t.http.post(`/v1/domains/${created.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
  const addresses = options.addresses ?? ['198.51.100.10'];
  dns.txt(domain, [`v=spf1 ${addresses.map((a) => (a.includes(':') ? `ip6:${a}` : `ip4:${a}`)).join(' ')} -all`]);
  if ((options.proof ?? 'ptr') === 'ptr') {
    const mx = `mx.${domain}`;
    for (const address of addresses.filter(isSingle).map((a) => a.split('/')[0]!)) {
      dns.ptr(address, [mx]);
      if (address.includes(':')) {
        dns.aaaa(mx, [address]);
      } else {
        dns.a(mx, [address]);
      }
    }
  }
  const server = await createMailServer(t, org.id, { heloHostname: options.helo ?? `mx.${domain}`, addresses });
  return {
    organizationId: org.id,
    domainId: created.body.id,
    domain,
    mailServerId: server.id,
    heloHostname: server.heloHostname,
    addresses: server.addresses,
  };
}
