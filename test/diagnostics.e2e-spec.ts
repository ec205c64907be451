import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHeloTable, serveHeloZone } from '../scripts/mailhost/helo-table.js';
import { CANARY_NAME, startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, createMailServer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

describe('HELO diagnostics', () => {
  let dns: TestDnsServer;
  let t: TestApp;

  beforeAll(async () => ({ t, dns } = await startAppOnTestDns()));
  afterAll(() => stopAppOnTestDns(t, dns));

  const diagnose = (query: Record<string, string>) =>
    t.http.get('/v1/diagnostics/helo').query(query).set(bearer(t.keys.csr)).expect(200);

  it('explains a rejected name with Postfix\'s exact reply, the PTR names, the owner and advice', async () => {
    const helo = `${unique('exch')}.corp.example.com`;
    const org = await createOrganization(t, { name: 'Example Widgets Ltd' });
    const server = await createMailServer(t, org.id, { heloHostname: helo, addresses: ['198.51.100.0/28'] });
    dns.ptr('198.51.100.7', ['mail.widgets.example']);
    const response = await diagnose({ helo: helo.toUpperCase(), ip: '198.51.100.7' });
    expect(response.body.syntax).toEqual({ announced: helo.toUpperCase(), form: 'hostname', normalized: helo, valid: true, problem: null });
    expect(response.body.neverPublic).toBeNull();
    // Every answer names the resolver that gave it, address:port.
    expect(response.body.dns.a).toMatchObject({ status: 'nxdomain', resolver: dns.address });
    expect(response.body.dns.mx.resolver).toBe(dns.address);
    expect(response.body.postfix).toMatchObject({
      rejected: true,
      reply: `450 4.7.1 <${helo.toUpperCase()}>: Helo command rejected: Host not found`,
      restriction: 'reject_unknown_helo_hostname',
    });
    expect(response.body.client).toMatchObject({ address: '198.51.100.7', ptr: { status: 'ok', records: ['mail.widgets.example'] } });
    expect(response.body.owners).toEqual([
      { organizationId: org.id, organizationName: 'Example Widgets Ltd', organizationStatus: 'active', mailServerId: server.id },
    ]);
    expect(response.body.exception).toBeNull();
    const advice = response.body.advice.join('\n');
    expect(advice).toContain('no DNS address');
    expect(advice).toContain('mail.widgets.example');
    expect(advice).toContain('Example Widgets Ltd');
  });

  it('accepts a name with an A or MX record', async () => {
    const withA = `${unique('ok')}.example`;
    dns.a(withA, ['192.0.2.25']);
    const a = await diagnose({ helo: withA });
    expect(a.body.postfix).toMatchObject({ rejected: false, reply: null });
    expect(a.body.dns.a).toMatchObject({ status: 'ok', records: ['192.0.2.25'] });
    const withMx = `${unique('mx')}.example`;
    dns.mx(withMx, [{ exchange: 'in.mx.example', priority: 10 }]);
    const mx = await diagnose({ helo: withMx });
    expect(mx.body.postfix.rejected).toBe(false);
    expect(mx.body.dns.mx.records).toEqual(['10 in.mx.example']);
  });

  it('reports a DNS failure as such, not as "no record", within the timeout', async () => {
    const helo = `${unique('slow')}.example`;
    dns.timeout(helo);
    const started = Date.now();
    const response = await diagnose({ helo });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(response.body.dns.a.status).toBe('timeout');
    expect(response.body.postfix).toMatchObject({
      rejected: null,
      // What Postfix answers while its own lookups fail: a temporary 450 (unknown_helo_hostname_tempfail_action).
      reply: `450 4.7.1 <${helo}>: Helo command rejected: Host not found`,
    });
    expect(response.body.postfix.explanation).toContain('not the same as "no record"');
    expect(response.body.dns.a).toMatchObject({ resolver: dns.address, error: expect.any(String) });
    const servfail = `${unique('broken')}.example`;
    dns.servfail(servfail);
    expect((await diagnose({ helo: servfail })).body.dns.mx.status).toBe('servfail');
  });

  it('flags an invalid name with the reply reject_invalid_helo_hostname gives, and a bad address', async () => {
    const response = await diagnose({ helo: 'exch..corp', ip: '300.1.2.3' });
    expect(response.body.syntax.valid).toBe(false);
    expect(response.body.syntax.problem).toContain('empty label');
    expect(response.body.postfix).toMatchObject({
      rejected: true,
      reply: '501 5.5.2 <exch..corp>: Helo command rejected: Invalid name',
      restriction: 'reject_invalid_helo_hostname',
    });
    expect(response.body.dns.a.status).toBe('skipped');
    expect(response.body.client).toMatchObject({ address: null });
    expect(response.body.client.problem).toContain('address');
    await t.http.get('/v1/diagnostics/helo').set(bearer(t.keys.csr)).expect(400);
  });

  it('names the exception in effect that lets the pair through, by its scope', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['203.0.113.128/28'] });
    const granted = await t.http
      .post('/v1/exceptions')
      .set(bearer(t.keys.csr))
      .send({ mailServerId: server.mailServerId, reason: 'internal HELO name' })
      .expect(201);
    // A prefix rests on SPF alone: a second person accepts it.
    await t.http.post(`/v1/exceptions/${granted.body.id}/approve`).set(bearer(t.keys.csr2)).expect(200);
    const covered = await diagnose({ helo: server.heloHostname, ip: '203.0.113.130' });
    expect(covered.body.exception).toMatchObject({ id: granted.body.id, scope: 'pair', status: 'active' });
    expect(covered.body.advice[0]).toContain('An exception lets this server through');
    expect(covered.body.coverage).toMatchObject({
      policyServer: { covered: true, exceptionId: granted.body.id, scope: 'pair' },
      cidrMap: { covered: true, exceptionId: granted.body.id, scope: 'pair' },
      heloMap: { covered: false },
    });
    expect(covered.body.coverage.explanation).toContain('exactly this HELO name from this address');
    // A pair exception needs both: another name from the same address is not covered by the policy
    // server, but the cidr map lets it through all the same, and the diagnosis says so.
    const otherName = await diagnose({ helo: `other.${server.domain}`, ip: '203.0.113.130' });
    expect(otherName.body.exception).toBeNull();
    expect(otherName.body.coverage).toMatchObject({ policyServer: { covered: false }, cidrMap: { covered: true, exceptionId: granted.body.id } });
    expect(otherName.body.coverage.explanation).toContain('ANY HELO name from this address');
    expect(otherName.body.advice[0]).toContain('ANY HELO name');
    const otherAddress = await diagnose({ helo: server.heloHostname, ip: '203.0.113.200' });
    expect(otherAddress.body.exception).toBeNull();
    expect(otherAddress.body.coverage).toMatchObject({ policyServer: { covered: false }, cidrMap: { covered: false }, heloMap: { covered: false } });
    await t.http.post(`/v1/exceptions/${granted.body.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'fixed' }).expect(200);
    const revoked = await diagnose({ helo: server.heloHostname, ip: '203.0.113.130' });
    expect(revoked.body.exception).toBeNull();
    expect(revoked.body.coverage).toMatchObject({ policyServer: { covered: false }, cidrMap: { covered: false } });
  });

  it('predicts Postfix\'s reply for every row of the HELO table (the one verify.sh checks against the real Postfix)', async () => {
    const table = loadHeloTable();
    serveHeloZone(dns, table);
    const disagreements: string[] = [];
    for (const row of table.rows) {
      const { postfix } = (await diagnose({ helo: row.helo })).body;
      if (postfix.reply !== row.reply || (postfix.rejected === false) !== (row.reply === null)) {
        disagreements.push(`${row.form}: ${JSON.stringify(row.helo)} predicted ${JSON.stringify(postfix.reply)}, Postfix ${JSON.stringify(row.reply)}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('accepts address literals as Postfix does, and matches such a server by its address', async () => {
    for (const helo of ['[192.0.2.1]', '[IPv6:2001:db8::1]']) {
      const { body } = await diagnose({ helo, ip: '192.0.2.1' });
      expect(body.syntax).toEqual({ announced: helo, form: 'address_literal', normalized: null, valid: true, problem: null });
      expect(body.postfix).toMatchObject({ rejected: false, reply: null, restriction: null });
      expect(body.postfix.explanation).toContain('both checks let it through');
      expect(body.dns.a.status).toBe('skipped');
      expect(body.advice[0]).toContain(`accept the address literal "${helo}" on both HELO checks`);
      expect(body.advice.join('\n')).not.toContain('Invalid name');
    }
    const bad = (await diagnose({ helo: '[2001:db8::1]' })).body;
    expect(bad.postfix).toMatchObject({ rejected: true, reply: '501 5.5.2 <[2001:db8::1]>: Helo command rejected: invalid ip address' });
    expect(bad.advice[0]).toContain('[IPv6:2001:db8::1]');
  });

  it('says a name that can never resolve publicly cannot be fixed in DNS: announce the public name, or an exception', async () => {
    for (const [helo, why] of [
      [`exch01.${unique('corp')}.local`, '.local is reserved for multicast DNS'],
      [`nas.${unique('home')}.home.arpa`, '.home.arpa is reserved for home networks'],
      [`exch01.${unique('intranet')}.corp`, 'not a top-level domain of the public DNS'],
      [unique('exch'), 'a single label'],
    ]) {
      const { body } = await diagnose({ helo, ip: '198.51.100.9' });
      expect(body.postfix).toMatchObject({ rejected: true, reply: `450 4.7.1 <${helo}>: Helo command rejected: Host not found` });
      expect(body.neverPublic).toContain(why);
      const advice = body.advice.join('\n');
      expect(advice).toContain('it never can');
      expect(advice).toContain(why);
      expect(advice).toContain('must announce its public name');
      expect(advice).toContain('needs an exception');
      expect(advice).not.toMatch(/publish an A record/i);
    }
  });

  it('with a resolver that answers NXDOMAIN for everything: "cannot tell: our resolver looks broken", never "no record"', async () => {
    const broken = await startTestDnsServer({ canary: false });
    const own = await startTestApp({ DNS_RESOLVERS: broken.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
    try {
      const helo = `mail.${unique('real')}.example.com`;
      const { body } = (await own.http.get('/v1/diagnostics/helo').query({ helo }).set(bearer(own.keys.csr)).expect(200));
      expect(body.dns.a).toMatchObject({ status: 'nxdomain', resolver: broken.address });
      expect(body.postfix).toMatchObject({ rejected: null, reply: null, restriction: 'reject_unknown_helo_hostname' });
      expect(body.postfix.explanation).toMatch(new RegExp(`^cannot tell: our resolver ${broken.address.replace(/\./g, '\\.')} \\(it answered NXDOMAIN for the canary ${CANARY_NAME.replace(/\./g, '\\.')}, a name that always exists\\) looks broken`));
      const advice = body.advice.join('\n');
      expect(advice).toContain('trouble on our side');
      expect(advice).not.toContain('no DNS address');
      expect(advice).not.toMatch(/publish an A record/i);
      // A name that can never resolve publicly is still called so.
      const local = (await own.http.get('/v1/diagnostics/helo').query({ helo: 'exch01.corp.local' }).set(bearer(own.keys.csr)).expect(200)).body;
      expect(local.postfix.rejected).toBeNull();
      expect(local.advice.join('\n')).toContain('can never resolve in the public DNS (.local is reserved for multicast DNS');
    } finally {
      await own.close();
      await broken.stop();
    }
  });
});
