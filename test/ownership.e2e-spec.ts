import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDnsServer } from './support/dns-server.js';
import { bearer, createMailServer, createOrganization, unique, type TestApp } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

describe('mail-server ownership evidence (PTR, SPF, HELO)', () => {
  let dns: TestDnsServer;
  let t: TestApp;

  beforeAll(async () => ({ t, dns } = await startAppOnTestDns()));
  afterAll(() => stopAppOnTestDns(t, dns));

  /** An organization with `name` verified through its TXT challenge. */
  async function verifiedOrganization(name = `${unique('own')}.example.com`) {
    const org = await createOrganization(t);
    const domain = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201);
    dns.txt(domain.body.challenge.recordName, [domain.body.challenge.recordValue]);
    await t.http.post(`/v1/domains/${domain.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    return { org, name };
  }

  const ownership = (id: string) => t.http.get(`/v1/mail-servers/${id}/ownership`).set(bearer(t.keys.csr)).expect(200);
  const recheck = (id: string) => t.http.post(`/v1/mail-servers/${id}/ownership/check`).set(bearer(t.keys.csr)).expect(200);

  it('proves addresses by forward-confirmed PTR and by SPF (include chain, prefix), and the HELO by its domain', async () => {
    const { org, name } = await verifiedOrganization();
    const mx = `mx1.${name}`;
    dns.ptr('198.51.100.21', [mx.toUpperCase() + '.']);
    dns.a(mx, ['198.51.100.21']);
    dns.txt(name, [`v=spf1 include:_spf.${name} -all`]);
    dns.txt(`_spf.${name}`, [`v=spf1 include:_net.${name} ~all`]);
    dns.txt(`_net.${name}`, ['v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:44::/48 -all']);
    const server = await createMailServer(t, org.id, {
      heloHostname: `exch01.${name}`,
      addresses: ['198.51.100.21', '203.0.113.64/28', '2001:db8:44:1::25'],
    });
    const evidence = (await ownership(server.id)).body;
    expect(evidence).toMatchObject({
      mailServerId: server.id,
      verifiedDomains: [name],
      heloProven: true,
      addressesProven: true,
      verified: true,
      stale: false,
      helo: { proven: true, domain: name },
    });
    expect(evidence.addressEvidence).toEqual([
      expect.objectContaining({ address: '198.51.100.21/32', proven: true, method: 'ptr', domain: name, ptrNames: [mx] }),
      expect.objectContaining({ address: '203.0.113.64/28', proven: true, method: 'spf', domain: name, spfMechanism: 'ip4:203.0.113.0/24' }),
      expect.objectContaining({ address: '2001:db8:44:1::25/128', proven: true, method: 'spf', spfMechanism: 'ip6:2001:db8:44::/48' }),
    ]);
    // SPF is the customer's claim: what rests on it alone is named.
    expect(evidence.spfOnlyAddresses).toEqual(['203.0.113.64/28', '2001:db8:44:1::25/128']);
  });

  it('says exactly what is unproven and why', async () => {
    const { org, name } = await verifiedOrganization();
    // PTR into the domain but not pointing back; PTR elsewhere; nothing at all.
    dns.ptr('198.51.100.31', [`liar.${name}`]);
    dns.a(`liar.${name}`, ['198.51.100.99']);
    dns.ptr('198.51.100.32', ['host.isp.example']);
    dns.txt(name, ['v=spf1 ip4:192.0.2.0/24 -all']);
    const server = await createMailServer(t, org.id, {
      heloHostname: 'exch01.corp.local',
      addresses: ['198.51.100.31', '198.51.100.32', '198.51.100.33', '192.0.2.0/23'],
    });
    const evidence = (await ownership(server.id)).body;
    expect(evidence).toMatchObject({ verified: false, addressesProven: false, heloProven: false });
    expect(evidence.helo.reason).toContain(name);
    const [liar, isp, none, wide] = evidence.addressEvidence;
    expect(liar.reason).toContain('does not resolve back');
    expect(isp.reason).toContain('host.isp.example');
    expect(none.reason).toContain(`no PTR record at ${dns.address}`);
    expect(none.reason).toContain('SPF of ' + name + ': fail');
    // Only half of the /23 is in the SPF record: a prefix is proven only as a whole.
    expect(wide.proven).toBe(false);
    expect(wide.reason).toContain('cannot be proven by PTR');
  });

  it('reports SPF that exceeds the lookup limit or loops as permerror, not as proof', async () => {
    const { org, name } = await verifiedOrganization();
    dns.txt(name, [`v=spf1 include:l1.${name} -all`]);
    for (let i = 1; i <= 11; i += 1) {
      dns.txt(`l${i}.${name}`, [i === 11 ? 'v=spf1 ip4:198.51.100.0/24 -all' : `v=spf1 include:l${i + 1}.${name} -all`]);
    }
    const deep = await createMailServer(t, org.id, { addresses: ['198.51.100.77'] });
    const deepEvidence = (await ownership(deep.id)).body;
    expect(deepEvidence.addressEvidence[0].proven).toBe(false);
    expect(deepEvidence.addressEvidence[0].reason).toMatch(/permerror/);

    const looping = await verifiedOrganization();
    dns.txt(looping.name, [`v=spf1 include:a.${looping.name} -all`]);
    dns.txt(`a.${looping.name}`, [`v=spf1 include:${looping.name} -all`]);
    const loop = await createMailServer(t, looping.org.id, { addresses: ['198.51.100.78'] });
    const started = Date.now();
    const loopEvidence = (await ownership(loop.id)).body;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(loopEvidence.addressEvidence[0].reason).toMatch(/permerror/);
  });

  it('without a verified domain nothing is proven; verifying one marks the evidence stale until recomputed', async () => {
    const org = await createOrganization(t);
    const name = `${unique('later')}.example.com`;
    dns.txt(name, ['v=spf1 ip4:198.51.100.0/24 -all']);
    const server = await createMailServer(t, org.id, { heloHostname: `mail.${name}`, addresses: ['198.51.100.90'] });
    const before = (await ownership(server.id)).body;
    expect(before).toMatchObject({ verified: false, verifiedDomains: [] });
    expect(before.addressEvidence[0].reason).toContain('no verified domain');

    const domain = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201);
    dns.txt(domain.body.challenge.recordName, [domain.body.challenge.recordValue]);
    await t.http.post(`/v1/domains/${domain.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    expect((await ownership(server.id)).body).toMatchObject({ stale: true, verified: false });
    expect((await recheck(server.id)).body).toMatchObject({ stale: false, verified: true, verifiedDomains: [name] });

    // Changing the server's claims makes the stored evidence stale too.
    await t.http.patch(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).send({ addresses: ['198.51.100.91'] }).expect(200);
    expect((await ownership(server.id)).body.stale).toBe(true);
    await t.http.get('/v1/mail-servers/00000000-0000-4000-8000-000000000000/ownership').set(bearer(t.keys.csr)).expect(404);
  });
});
