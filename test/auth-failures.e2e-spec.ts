import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestApp, type TestApp } from './support/test-app.js';

const madeUpSecret = () => `hp_${randomBytes(32).toString('base64url')}`;
const madeUpKey = () => ({ authorization: `Bearer ${madeUpSecret()}` });

interface FailureLine {
  level: number;
  msg: string;
  reason: string;
  keyPrefix?: string;
  address: string;
  route: string;
  requestId: string;
}

// One app per file: the log capture is process-wide.
describe('failed authentications behind a trusted proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TRUSTED_PROXIES: '127.0.0.1,::1', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '4' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const failureLine = (requestId: string): FailureLine | undefined =>
    t.logs.lines
      .map((line) => JSON.parse(line) as FailureLine)
      .find((line) => line.msg === 'authentication failed' && line.requestId === requestId);

  it('logs each one as a warning with the reason, key prefix, client address and route, never the secret', async () => {
    const unknown = madeUpSecret();
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${unknown}` }).set('x-request-id', 'fail-unknown').set('x-forwarded-for', '203.0.113.10').expect(401);

    const revoked = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name: 'to revoke', role: 'csr', owner: 'revoked@example.com' }).expect(201);
    await t.http.delete(`/v1/api-keys/${revoked.body.id}`).set(bearer(t.keys.admin)).expect(200);
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${revoked.body.key}` }).set('x-request-id', 'fail-revoked').set('x-forwarded-for', '203.0.113.11').expect(401);

    const expired = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name: 'to expire', role: 'csr', owner: 'expired@example.com' }).expect(201);
    await t.prisma.apiKey.update({ where: { id: expired.body.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await t.http.get('/v1/organizations/00000000-0000-4000-8000-000000000000').set({ authorization: `Bearer ${expired.body.key}` }).set('x-request-id', 'fail-expired').set('x-forwarded-for', '203.0.113.12').expect(401);

    const malformed = 'not-a-key but a password: hunter2';
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${malformed}` }).set('x-request-id', 'fail-malformed').set('x-forwarded-for', '203.0.113.13').expect(401);
    const basic = Buffer.from(`rspamd:${madeUpSecret()}`).toString('base64');
    await t.http.get('/v1/allowlist/rspamd-ip').set({ authorization: `Basic ${basic}` }).set('x-request-id', 'fail-basic').set('x-forwarded-for', '203.0.113.14').expect(401);
    await t.http.get('/v1/organizations').set('x-request-id', 'fail-missing').set('x-forwarded-for', '203.0.113.15').expect(401);

    expect(failureLine('fail-unknown')).toMatchObject({
      level: 40,
      reason: 'unknown',
      keyPrefix: unknown.slice(0, 11),
      address: '203.0.113.10',
      route: 'GET /v1/organizations',
    });
    expect(failureLine('fail-revoked')).toMatchObject({ reason: 'revoked', keyPrefix: revoked.body.prefix, address: '203.0.113.11' });
    expect(failureLine('fail-expired')).toMatchObject({
      reason: 'expired',
      keyPrefix: expired.body.prefix,
      address: '203.0.113.12',
      route: 'GET /v1/organizations/:id',
    });
    const malformedLine = failureLine('fail-malformed');
    expect(malformedLine).toMatchObject({ reason: 'malformed', address: '203.0.113.13' });
    expect(malformedLine?.keyPrefix).toBeUndefined();
    expect(failureLine('fail-basic')).toMatchObject({ reason: 'unknown', address: '203.0.113.14', route: 'GET /v1/allowlist/:rendering' });
    expect(failureLine('fail-missing')).toMatchObject({ reason: 'missing', address: '203.0.113.15' });

    for (const secret of [unknown, revoked.body.key, expired.body.key, 'hunter2', basic]) {
      expect(t.logs.text).not.toContain(secret);
    }
    expect(t.logs.text).not.toMatch(/authorization|Bearer|Basic /i);
  });

  it('counts failures per address named by the trusted proxy', async () => {
    for (let i = 0; i < 4; i += 1) {
      await t.http.get('/v1/organizations').set(madeUpKey()).set('x-forwarded-for', '192.0.2.50').expect(401);
    }
    const blocked = await t.http.get('/v1/organizations').set(bearer(t.keys.csr)).set('x-forwarded-for', '192.0.2.50');
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
    // Another client behind the same proxy is not affected.
    await t.http.get('/v1/organizations').set(bearer(t.keys.csr)).set('x-forwarded-for', '192.0.2.51').expect(200);
    await t.http.get('/v1/organizations').set(madeUpKey()).set('x-forwarded-for', '192.0.2.51').expect(401);
  });
});
