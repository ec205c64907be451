import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

describe('Idempotency-Key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers the first response again for the same key and body, without a second change', async () => {
    const key = randomUUID();
    const name = unique('Idem');
    const send = () =>
      t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('idempotency-key', key).send({ name });
    const first = await send().expect(201);
    const again = await send().expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await t.prisma.organization.count({ where: { name } })).toBe(1);
    expect(await t.prisma.auditEvent.count({ where: { entityId: first.body.id } })).toBe(1);
  });

  it('refuses the same key with another body (422) and changes nothing', async () => {
    const key = randomUUID();
    const name = unique('Idem');
    await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('idempotency-key', key).send({ name }).expect(201);
    const other = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .set('idempotency-key', key)
      .send({ name: `${name}-other` })
      .expect(422);
    expect(other.body.detail).toContain('Idempotency-Key');
    expect(await t.prisma.organization.count({ where: { name: `${name}-other` } })).toBe(0);
  });

  it('keeps keys apart per API key, and runs concurrent duplicates once', async () => {
    const key = randomUUID();
    const name = unique('Idem');
    const [a, b] = await Promise.all(
      [t.keys.csr, t.keys.csr2].map((apiKey) =>
        t.http.post('/v1/organizations').set(bearer(apiKey)).set('idempotency-key', key).send({ name }),
      ),
    );
    expect(a!.status).toBe(201);
    expect(b!.status).toBe(201);
    expect(a!.body.id).not.toBe(b!.body.id);

    const shared = randomUUID();
    const sharedName = unique('Idem');
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('idempotency-key', shared).send({ name: sharedName }),
      ),
    );
    // Each duplicate either replays the first response or is told the first is still running.
    for (const result of results) {
      expect([201, 409]).toContain(result.status);
    }
    expect(await t.prisma.organization.count({ where: { name: sharedName } })).toBe(1);
  });

  it('does not remember a request that failed, so it can be retried with the same key', async () => {
    const org = await createOrganization(t, { customerRef: unique('C') });
    const taken = (await t.prisma.organization.findUniqueOrThrow({ where: { id: org.id } })).customerRef!;
    const key = randomUUID();
    const body = { name: unique('Retry'), customerRef: taken };
    await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('idempotency-key', key).send(body).expect(409);
    await t.http
      .patch(`/v1/organizations/${org.id}`)
      .set(bearer(t.keys.csr))
      .send({ customerRef: unique('C') })
      .expect(200);
    await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).set('idempotency-key', key).send(body).expect(201);
  });

  it('keeps a key-creating response without its secret: a replay says it was shown once and mints nothing', async () => {
    const idempotencyKey = randomUUID();
    const name = unique('idem key');
    const send = (body: Record<string, unknown>) =>
      t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).set('idempotency-key', idempotencyKey).send(body);
    const first = await send({ name, role: 'filter' }).expect(201);
    const secret = first.body.key as string;
    expect(secret).toMatch(/^hp_[A-Za-z0-9_-]{43}$/);
    expect(first.body).not.toHaveProperty('secretShownOnce');

    const stored = await t.prisma.idempotencyRecord.findFirstOrThrow({ where: { apiKeyId: t.keys.admin.id, key: idempotencyKey } });
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(3));

    const replay = await send({ name, role: 'filter' }).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual({ ...first.body, key: null, secretShownOnce: true });
    expect(JSON.stringify(replay.body)).not.toContain(secret.slice(3));
    expect(await t.prisma.apiKey.count({ where: { name } })).toBe(1);
    // The key from the first response is the one that was minted, and it works.
    await t.http.get('/v1/allowlist/postfix-cidr').set({ authorization: `Bearer ${secret}` }).expect(200);

    const other = await send({ name, role: 'csr' }).expect(422);
    expect(other.body.detail).toContain('Idempotency-Key');
    expect(await t.prisma.apiKey.count({ where: { name } })).toBe(1);
  });

  it('replays updates too, and refuses a malformed key', async () => {
    const org = await createOrganization(t);
    const key = randomUUID();
    const first = await t.http
      .patch(`/v1/organizations/${org.id}`)
      .set(bearer(t.keys.csr))
      .set('idempotency-key', key)
      .send({ notes: 'once' })
      .expect(200);
    const replay = await t.http
      .patch(`/v1/organizations/${org.id}`)
      .set(bearer(t.keys.csr))
      .set('idempotency-key', key)
      .send({ notes: 'once' })
      .expect(200);
    expect(replay.headers.etag).toBe(first.headers.etag);
    expect(await t.prisma.auditEvent.count({ where: { entityId: org.id, action: 'organization.updated' } })).toBe(1);
    await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .set('idempotency-key', 'x'.repeat(256))
      .send({ name: unique('Idem') })
      .expect(400);
  });
});
