import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, startTestApp, unique, type TestApp } from './support/test-app.js';

/** GET /v1/public/helo-check: no key, DNS facts and the verdict only. */
describe('public HELO self-check', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  let client = 0;
  /** Each test speaks from an address of its own (through the trusted proxy), so budgets do not mix. */
  const from = () => ({ 'x-forwarded-for': `203.0.113.${++client}` });

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startTestApp({
      DNS_RESOLVERS: dns.address,
      DNS_TIMEOUT_MS: '300',
      DNS_TRIES: '1',
      PUBLIC_CHECK_PER_MINUTE: '5',
      TRUSTED_PROXIES: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  it('answers the exact reply, the DNS facts and the fix without a key', async () => {
    const helo = `${unique('exch')}.corp.example.com`;
    dns.ptr('198.51.100.9', ['mail.sender.example']);
    const response = await t.http.get('/v1/public/helo-check').query({ helo, ip: '198.51.100.9' }).set(from());
    expect(response.status).toBe(200);
    expect(response.body.postfix).toMatchObject({ rejected: true, reply: `450 4.7.1 <${helo}>: Helo command rejected: Host not found` });
    expect(response.body.dns.a).toMatchObject({ status: 'nxdomain', resolver: dns.address });
    expect(response.body.client.ptr.records).toEqual(['mail.sender.example']);
    expect(response.body.advice.join(' ')).toContain('no DNS address');
  });

  it('never tells whether a server is registered, who owns it, or that an exception covers it', async () => {
    const address = '198.51.100.77';
    const server = await provenMailServer(t, dns, { addresses: [address] });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
    expect(granted.body.status).toBe('active');
    const staff = await t.http.get('/v1/diagnostics/helo').query({ helo: server.heloHostname, ip: address }).set(bearer(t.keys.csr)).expect(200);
    expect(staff.body.exception?.id).toBe(granted.body.id);
    expect(staff.body.owners).toHaveLength(1);

    const response = await t.http.get('/v1/public/helo-check').query({ helo: server.heloHostname, ip: address }).set(from()).expect(200);
    expect(Object.keys(response.body).sort()).toEqual(['advice', 'client', 'dns', 'neverPublic', 'postfix', 'syntax']);
    const text = JSON.stringify(response.body);
    expect(text).not.toContain(server.organizationId);
    expect(text).not.toContain(server.mailServerId);
    expect(text).not.toContain(granted.body.id);
    expect(text).not.toMatch(/registered|exception lets/i);
    const organization = await t.prisma.organization.findUniqueOrThrow({ where: { id: server.organizationId } });
    expect(text).not.toContain(organization.name);
  });

  it('sends no DNS query for a name that fails syntax', async () => {
    const before = dns.queries.length;
    const response = await t.http.get('/v1/public/helo-check').query({ helo: 'bad name..example', ip: '198.51.100.10' }).set(from()).expect(200);
    expect(response.body.syntax.valid).toBe(false);
    expect(response.body.dns.a.status).toBe('skipped');
    expect(response.body.advice[0]).toContain('not a valid host name');
    // Only the client address's PTR was asked.
    expect(dns.queries.slice(before).map((query) => query.type)).toEqual(['PTR']);
  });

  it('refuses bad input as problem+json', async () => {
    const missing = await t.http.get('/v1/public/helo-check').set(from());
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].field).toBe('helo');
    const long = await t.http.get('/v1/public/helo-check').query({ helo: 'a'.repeat(600) }).set(from());
    expect(long.status).toBe(400);
  });

  it('limits checks per client address', async () => {
    const address = from();
    for (let i = 0; i < 5; i += 1) {
      await t.http.get('/v1/public/helo-check').query({ helo: '[192.0.2.1]' }).set(address).expect(200);
    }
    const refused = await t.http.get('/v1/public/helo-check').query({ helo: '[192.0.2.1]' }).set(address);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another address still may.
    await t.http.get('/v1/public/helo-check').query({ helo: '[192.0.2.1]' }).set(from()).expect(200);
  });
});
