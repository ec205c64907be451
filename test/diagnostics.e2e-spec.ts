import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, createMailServer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

describe('HELO diagnostics', () => {
  let dns: TestDnsServer;
  let t: TestApp;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  const diagnose = (query: Record<string, string>) =>
    t.http.get('/v1/diagnostics/helo').query(query).set(bearer(t.keys.csr)).expect(200);

  it('explains a rejected name with Postfix\'s exact reply, the PTR names, the owner and advice', async () => {
    const helo = `${unique('exch')}.corp.example`;
    const org = await createOrganization(t, { name: 'Example Widgets Ltd' });
    const server = await createMailServer(t, org.id, { heloHostname: helo, addresses: ['198.51.100.0/28'] });
    dns.ptr('198.51.100.7', ['mail.widgets.example']);
    const response = await diagnose({ helo: helo.toUpperCase(), ip: '198.51.100.7' });
    expect(response.body.syntax).toEqual({ announced: helo.toUpperCase(), normalized: helo, valid: true, problem: null });
    expect(response.body.dns.a.status).toBe('nxdomain');
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
    expect(response.body.postfix.rejected).toBeNull();
    expect(response.body.postfix.explanation).toContain('not the same as "no record"');
    const servfail = `${unique('broken')}.example`;
    dns.servfail(servfail);
    expect((await diagnose({ helo: servfail })).body.dns.mx.status).toBe('servfail');
  });

  it('flags an invalid name with the reply reject_invalid_helo_hostname gives, and a bad address', async () => {
    const response = await diagnose({ helo: 'exch..corp', ip: '300.1.2.3' });
    expect(response.body.syntax.valid).toBe(false);
    expect(response.body.syntax.problem).toContain('empty labels');
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
    // A pair exception needs both: another name from the same address is not covered.
    expect((await diagnose({ helo: `other.${server.domain}`, ip: '203.0.113.130' })).body.exception).toBeNull();
    expect((await diagnose({ helo: server.heloHostname, ip: '203.0.113.200' })).body.exception).toBeNull();
    await t.http.post(`/v1/exceptions/${granted.body.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'fixed' }).expect(200);
    expect((await diagnose({ helo: server.heloHostname, ip: '203.0.113.130' })).body.exception).toBeNull();
  });
});
