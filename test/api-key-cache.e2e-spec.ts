import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiKeysService } from '@app/access';
import { applyMigrations } from '@app/database';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { bearer, startTestApp, type TestApp } from './support/test-app.js';

/**
 * Two API processes on one database of their own. What one remembers about
 * keys (found, or not found) must follow what the other one changes.
 */
describe('API keys remembered across processes', () => {
  let databaseUrl: string;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    databaseUrl = await createScratchDatabase(inject('adminUrl'), 'keys');
    await applyMigrations(databaseUrl);
    a = await startTestApp({ DATABASE_URL: databaseUrl });
    b = await startTestApp({ DATABASE_URL: databaseUrl });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await dropDatabase(inject('adminUrl'), databaseUrl);
  });

  it('a key refused as unknown works at once when another process creates it', async () => {
    const chosen = `hp_${randomBytes(32).toString('base64url')}`;
    const auth = { authorization: `Bearer ${chosen}` };
    await a.http.get('/v1/organizations').set(auth).expect(401);
    await a.http.get('/v1/organizations').set(auth).expect(401); // now remembered as unknown by A

    // The one way to create a key with a secret chosen beforehand: the bootstrap key, when no admin key is active.
    await b.prisma.apiKey.updateMany({ where: { role: 'admin' }, data: { revokedAt: new Date() } });
    const registered = await b.app.get(ApiKeysService).ensureBootstrapAdmin(chosen);
    expect(registered.registered).toBe('given');

    // Told by NOTIFY, not by the cache running out (a minute).
    await expect.poll(async () => (await a.http.get('/v1/organizations').set(auth)).status, { timeout: 3000, interval: 50 }).toBe(200);
  });

  it('a key revoked in one process stops working in the other at once', async () => {
    // The first test revoked the admin keys of both apps; B's new bootstrap admin is the chosen key, so mint another.
    const system = { id: null, name: 'system:test', role: 'system' as const, owner: null };
    const minted = await b.app.get(ApiKeysService).create({ name: 'second admin', role: 'admin', owner: 'second-admin@example.com' }, system);
    const admin = { authorization: `Bearer ${minted.key}` };
    const created = await b.http.post('/v1/api-keys').set(admin).send({ name: 'to revoke elsewhere', role: 'csr', owner: 'revoked-elsewhere@example.com' }).expect(201);
    const auth = { authorization: `Bearer ${created.body.key}` };
    await a.http.get('/v1/organizations').set(auth).expect(200); // remembered by A
    await b.http.delete(`/v1/api-keys/${created.body.id}`).set(admin).expect(200);
    await expect.poll(async () => (await a.http.get('/v1/organizations').set(auth)).status, { timeout: 3000, interval: 50 }).toBe(401);
    await a.http.get('/v1/organizations').set(bearer(a.keys.csr)).expect(200);
  });
});
