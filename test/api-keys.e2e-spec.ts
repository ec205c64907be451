import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { hashApiKeySecret, ManualClock } from '@app/domain';
import { auditTrail, bearer, startIsolatedTestApp, startTestApp, unique, type TestApp } from './support/test-app.js';

describe('API keys', () => {
  let t: TestApp;
  /** Expiry and lastUsedAt follow it: time is moved, never waited for. */
  const clock = new ManualClock();
  beforeAll(async () => {
    t = await startTestApp({}, clock);
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

  it('a person\'s key names its owner: required for admin, csr, auditor and customer (400 naming owner), stored normalized, shown in answers and lists', async () => {
    const name = unique('refused');
    for (const role of ['admin', 'csr', 'auditor', 'customer']) {
      const refused = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({ name, role }).expect(400);
      expect(refused.body.errors).toEqual([{ field: 'owner', message: expect.stringContaining('required for admin, csr, auditor and customer') }]);
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
      .send({ name: 'already expired', role: 'csr', owner: 'late@example.test', expiresAt: new Date(clock.now().getTime() - 1000).toISOString() })
      .expect(422);
    const expiresAt = new Date(clock.now().getTime() + 60_000);
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: 'short lived', role: 'csr', owner: 'brief@example.test', expiresAt: expiresAt.toISOString() })
      .expect(201);
    const auth = { authorization: `Bearer ${created.body.key}` };
    await t.http.get('/v1/organizations').set(auth).expect(200);
    clock.set(new Date(expiresAt.getTime() - 1));
    await t.http.get('/v1/organizations').set(auth).expect(200);
    clock.set(expiresAt);
    const refused = await t.http.get('/v1/organizations').set(auth).expect(401);
    expect(refused.body.detail).toContain('expired');

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

  it('records lastUsedAt at most once a minute per key, not on every request', async () => {
    // A database of its own, with a trigger that keeps every write of lastUsedAt: the writes are
    // made in the background, so "no write" is shown by the list of writes, not by waiting.
    const own = await startIsolatedTestApp({}, clock);
    const db = new pg.Client({ connectionString: own.databaseUrl });
    await db.connect();
    try {
      await db.query(`
        CREATE TABLE last_used_writes (key_id uuid, at timestamptz);
        CREATE FUNCTION keep_last_used_write() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN INSERT INTO last_used_writes VALUES (NEW.id, NEW.last_used_at); RETURN NEW; END $$;
        CREATE TRIGGER keep_last_used_write AFTER UPDATE OF last_used_at ON api_keys
          FOR EACH ROW EXECUTE FUNCTION keep_last_used_write();`);
      const created = await own.http
        .post('/v1/api-keys')
        .set(bearer(own.keys.admin))
        .send({ name: 'usage', role: 'auditor', owner: 'usage@example.test' })
        .expect(201);
      const auth = { authorization: `Bearer ${created.body.key}` };
      const writes = async () =>
        (await db.query<{ at: Date }>('SELECT at FROM last_used_writes WHERE key_id = $1', [created.body.id])).rows.map((row) => row.at.toISOString());

      const first = clock.now();
      await own.http.get('/v1/organizations').set(auth).expect(200);
      await expect.poll(writes).toEqual([first.toISOString()]);
      for (let second = 1; second <= 59; second += 1) {
        clock.set(new Date(first.getTime() + second * 1000));
        await own.http.get('/v1/organizations').set(auth).expect(200);
      }
      // A use a minute later is written; the 59 within the minute before it were not.
      const minuteLater = new Date(first.getTime() + 60_000);
      clock.set(minuteLater);
      await own.http.get('/v1/organizations').set(auth).expect(200);
      await expect.poll(async () => (await writes()).includes(minuteLater.toISOString())).toBe(true);
      expect(await writes()).toEqual([first.toISOString(), minuteLater.toISOString()]);
      expect((await own.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } })).lastUsedAt).toEqual(minuteLater);
    } finally {
      await db.end();
      await own.close();
    }
  });
});
