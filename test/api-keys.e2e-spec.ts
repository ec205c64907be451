import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKeySecret } from '@app/domain';
import { auditTrail, bearer, startTestApp, type TestApp } from './support/test-app.js';

describe('API keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('mints a URL-safe key shown once, stores only its hash, and audits without the secret', async () => {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'postfix mx1', role: 'filter' })
      .expect(201);
    const { key, id, prefix } = response.body as { key: string; id: string; prefix: string };
    expect(key).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(key.startsWith(prefix)).toBe(true);
    expect(response.body).toMatchObject({ name: 'postfix mx1', role: 'filter', revokedAt: null, expiresAt: null });

    const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect(row.secretHash).toBe(hashApiKeySecret(key));
    expect(JSON.stringify(row)).not.toContain(key);

    const listed = await t.http.get('/v1/api-keys').query({ limit: 200 }).set(bearer(t.keys.admin)).expect(200);
    const item = listed.body.items.find((entry: { id: string }) => entry.id === id);
    expect(item).toMatchObject({ id, prefix, role: 'filter' });
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect(JSON.stringify(listed.body)).not.toContain(row.secretHash);

    const [event] = await auditTrail(t, id);
    expect(event).toMatchObject({ action: 'api_key.created', actor: { id: t.keys.admin.id } });
    expect(JSON.stringify(event)).not.toContain(key);
    expect(JSON.stringify(event)).not.toContain(row.secretHash);

    // The new key works, with its role.
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${key}` }).expect(403);
  });

  it('revokes a key: it stops working at once, and the revocation is audited', async () => {
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'temp csr', role: 'csr' })
      .expect(201);
    const auth = { authorization: `Bearer ${created.body.key}` };
    await t.http.get('/v1/organizations').set(auth).expect(200);
    const revoked = await t.http.delete(`/v1/api-keys/${created.body.id}`).set(bearer(t.keys.admin)).expect(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const refused = await t.http.get('/v1/organizations').set(auth).expect(401);
    expect(refused.body.type).toContain('unauthorized');
    expect(refused.headers['www-authenticate']).toContain('Bearer');
    const trail = await auditTrail(t, created.body.id);
    expect(trail.map((event) => event.action)).toEqual(['api_key.created', 'api_key.revoked']);
    await t.http.delete('/v1/api-keys/00000000-0000-4000-8000-000000000000').set(bearer(t.keys.admin)).expect(404);
  });

  it('refuses an expired key, a past expiry, and malformed or unknown keys', async () => {
    await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'already expired', role: 'csr', expiresAt: new Date(Date.now() - 1000).toISOString() })
      .expect(422);
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'short lived', role: 'csr', expiresAt: new Date(Date.now() + 1500).toISOString() })
      .expect(201);
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${created.body.key}` }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${created.body.key}` }).expect(401);

    for (const header of [
      'Bearer',
      'Bearer hp_short',
      `Bearer ${t.keys.csr.key.slice(0, -1)}X`,
      `Token ${t.keys.csr.key}`,
      `Bearer ${t.keys.csr.key}%`,
    ]) {
      await t.http.get('/v1/organizations').set({ authorization: header }).expect(401);
    }
    await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'x', role: 'root' })
      .expect(400);
  });

  it('does not take HTTP Basic outside the allowlist feed', async () => {
    const basic = Buffer.from(`any:${t.keys.csr.key}`).toString('base64');
    await t.http.get('/v1/organizations').set({ authorization: `Basic ${basic}` }).expect(401);
  });

  it('records lastUsedAt without a write on every request', async () => {
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'usage', role: 'auditor' })
      .expect(201);
    const auth = { authorization: `Bearer ${created.body.key}` };
    await t.http.get('/v1/organizations').set(auth).expect(200);
    await expect.poll(async () => (await t.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } })).lastUsedAt).not.toBeNull();
    const first = (await t.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } })).lastUsedAt!;
    for (let i = 0; i < 5; i += 1) {
      await t.http.get('/v1/organizations').set(auth).expect(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = (await t.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } })).lastUsedAt!;
    expect(after.getTime()).toBe(first.getTime());
  });
});
