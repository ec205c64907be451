import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKeySecret } from '@app/domain';
import { auditTrail, bearer, startTestApp, unique, type TestApp } from './support/test-app.js';

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
    expect(response.body).toMatchObject({ name: 'postfix mx1', role: 'filter', owner: null, revokedAt: null, expiresAt: null });

    const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect(row.secretHash).toBe(hashApiKeySecret(key));
    expect(JSON.stringify(row)).not.toContain(key);

    const listed = await t.http.get('/v1/api-keys').query({ limit: 200 }).set(bearer(t.keys.admin)).expect(200);
    const item = listed.body.items.find((entry: { id: string }) => entry.id === id);
    expect(item).toMatchObject({ id, prefix, role: 'filter' });
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect(JSON.stringify(listed.body)).not.toContain(row.secretHash);

    const [event] = await auditTrail(t, id);
    expect(event).toMatchObject({ action: 'api_key.created', actor: { id: t.keys.admin.id, owner: t.keys.admin.owner } });
    expect(JSON.stringify(event)).not.toContain(key);
    expect(JSON.stringify(event)).not.toContain(row.secretHash);

    // The new key works, with its role.
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${key}` }).expect(403);
  });

  it('a person\'s key names its owner: required for admin, csr and auditor (400 naming owner), stored normalized, shown in answers and lists', async () => {
    const name = unique('refused');
    for (const role of ['admin', 'csr', 'auditor']) {
      const refused = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name, role }).expect(400);
      expect(refused.body.errors).toEqual([{ field: 'owner', message: expect.stringContaining('required for admin, csr and auditor') }]);
    }
    for (const owner of ['', 'two words', 'alice@', 'x'.repeat(255), 'legacy-key-00000000-0000-4000-8000-000000000000']) {
      const refused = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name, role: 'csr', owner }).expect(400);
      expect(refused.body.errors.map((error: { field: string }) => error.field)).toEqual(['owner']);
      expect(JSON.stringify(refused.body)).not.toContain('two words');
    }
    expect(await t.prisma.apiKey.count({ where: { name } })).toBe(0);

    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'jane at the desk', role: 'csr', owner: '  Jane.Doe@Example.COM ' })
      .expect(201);
    expect(created.body).toMatchObject({ role: 'csr', owner: 'jane.doe@example.com' });
    expect((await t.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } })).owner).toBe('jane.doe@example.com');
    const host = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name: 'mx2 feed', role: 'filter', owner: 'MX2.example.net' }).expect(201);
    expect(host.body.owner).toBe('mx2.example.net');
    const listed = await t.http.get('/v1/api-keys').query({ limit: 200 }).set(bearer(t.keys.admin)).expect(200);
    const owners = new Map(listed.body.items.map((item: { id: string; owner: string | null }) => [item.id, item.owner]));
    expect(owners.get(created.body.id)).toBe('jane.doe@example.com');
    expect(owners.get(host.body.id)).toBe('mx2.example.net');
    expect(owners.get(t.keys.adminAgain.id)).toBe(t.keys.admin.owner);
    const [event] = await auditTrail(t, created.body.id);
    expect(event!.after).toMatchObject({ owner: 'jane.doe@example.com' });

    // What the key does is recorded with its owner.
    const org = await t.http.post('/v1/organizations').set({ authorization: `Bearer ${created.body.key}` }).send({ name: 'Owned Ltd' }).expect(201);
    const [orgEvent] = await auditTrail(t, org.body.id);
    expect(orgEvent!.actor).toEqual({ id: created.body.id, name: 'jane at the desk', role: 'csr', owner: 'jane.doe@example.com' });
  });

  it('the database holds the owner rule too: no person\'s key without an owner, no un-normalized owner', async () => {
    const insert = (role: string, owner: string | null) =>
      t.prisma.$executeRaw`INSERT INTO api_keys (id, name, role, prefix, secret_hash, owner)
        VALUES (gen_random_uuid(), 'direct', ${role}::api_key_role, ${'hp_' + Math.random().toString(36).slice(2, 12)},
                ${Math.random().toString(16).slice(2).padEnd(64, '0')}, ${owner})`;
    await expect(insert('admin', null)).rejects.toThrow(/api_keys_owner_named/);
    await expect(insert('csr', 'Jane@Example.com')).rejects.toThrow(/api_keys_owner_normalized/);
    await expect(insert('auditor', ' jane')).rejects.toThrow(/api_keys_owner_normalized/);
  });

  it('revokes a key: it stops working at once, and the revocation is audited', async () => {
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'temp csr', role: 'csr', owner: 'temp@example.test' })
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
      .send({ name: 'already expired', role: 'csr', owner: 'late@example.test', expiresAt: new Date(Date.now() - 1000).toISOString() })
      .expect(422);
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'short lived', role: 'csr', owner: 'brief@example.test', expiresAt: new Date(Date.now() + 1500).toISOString() })
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
      .send({ name: 'usage', role: 'auditor', owner: 'usage@example.test' })
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
