import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, bearer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

describe('organizations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates an organization, answers it with an ETag and audits the creation', async () => {
    const customerRef = unique('C');
    const response = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .set('x-request-id', 'req-create-org-1')
      .send({ name: 'Example Widgets Ltd', customerRef, notes: 'asked by phone' })
      .expect(201);
    expect(response.headers.etag).toBe('"1"');
    expect(response.body).toMatchObject({
      name: 'Example Widgets Ltd',
      customerRef,
      status: 'active',
      notes: 'asked by phone',
    });
    expect(Object.keys(response.body).sort()).toEqual(
      ['createdAt', 'customerRef', 'id', 'name', 'notes', 'status', 'technicalContacts', 'updatedAt'].sort(),
    );
    const fetched = await t.http.get(`/v1/organizations/${response.body.id}`).set(bearer(t.keys.auditor)).expect(200);
    expect(fetched.body).toEqual(response.body);
    expect(fetched.headers.etag).toBe('"1"');

    const [event, ...rest] = await auditTrail(t, response.body.id);
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      action: 'organization.created',
      entityType: 'organization',
      entityId: response.body.id,
      organizationId: response.body.id,
      actor: { id: t.keys.csr.id, name: t.keys.csr.name, role: 'csr' },
      before: null,
      after: { name: 'Example Widgets Ltd', customerRef, status: 'active' },
      requestId: 'req-create-org-1',
    });
  });

  it('refuses a second organization with the same customerRef (409) and writes nothing', async () => {
    const customerRef = unique('C');
    await createOrganization(t, { customerRef });
    const before = await t.prisma.auditEvent.count();
    const response = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .send({ name: unique('Other'), customerRef })
      .expect(409);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body.detail).toContain('customerRef');
    expect(await t.prisma.organization.count({ where: { customerRef } })).toBe(1);
    expect(await t.prisma.auditEvent.count()).toBe(before);
  });

  it('refuses invalid input with 400 naming each field, echoing nothing and writing nothing', async () => {
    const secretish = 'x'.repeat(201);
    const count = await t.prisma.organization.count();
    const response = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .send({ name: secretish, customerRef: 'has space', color: 'blue' })
      .expect(400);
    const fields = (response.body.errors as { field: string }[]).map((error) => error.field).sort();
    expect(fields).toEqual(['color', 'customerRef', 'name']);
    expect(JSON.stringify(response.body)).not.toContain(secretish);
    expect(JSON.stringify(response.body)).not.toContain('has space');
    expect(await t.prisma.organization.count()).toBe(count);
  });

  it('lists newest first with cursor pagination and searches by name or customerRef', async () => {
    const marker = unique('Paging');
    const created = [];
    for (let i = 0; i < 5; i += 1) {
      created.push(await createOrganization(t, { name: `${marker} ${i}`, customerRef: `${marker}-${i}` }));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.http
        .get('/v1/organizations')
        .query({ q: marker.toUpperCase(), limit: 2, ...(cursor ? { cursor } : {}) })
        .set(bearer(t.keys.csr))
        .expect(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(created.map((org) => org.id).reverse());

    const byRef = await t.http
      .get('/v1/organizations')
      .query({ q: `${marker}-3` })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(byRef.body.items.map((item: { id: string }) => item.id)).toEqual([created[3]!.id]);

    const forged = await t.http.get('/v1/organizations').query({ cursor: 'not-a-cursor' }).set(bearer(t.keys.csr)).expect(400);
    expect(forged.headers['content-type']).toContain('application/problem+json');
    expect(forged.body.errors).toEqual([{ field: 'cursor', message: 'is not one this API issued' }]);
    await t.http.get('/v1/organizations').query({ limit: 1000 }).set(bearer(t.keys.csr)).expect(400);
  });

  it('updates with If-Match, refuses a stale tag with 412 and audits before and after', async () => {
    const org = await createOrganization(t, { notes: 'first' });
    const updated = await t.http
      .patch(`/v1/organizations/${org.id}`)
      .set(bearer(t.keys.csr))
      .set('if-match', '"1"')
      .send({ notes: 'second', customerRef: unique('C') })
      .expect(200);
    expect(updated.headers.etag).toBe('"2"');
    expect(updated.body.notes).toBe('second');

    const stale = await t.http
      .patch(`/v1/organizations/${org.id}`)
      .set(bearer(t.keys.csr))
      .set('if-match', '"1"')
      .send({ notes: 'third' })
      .expect(412);
    expect(stale.body.type).toContain('precondition-failed');
    const current = await t.http.get(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).expect(200);
    expect(current.body.notes).toBe('second');

    const cleared = await t.http
      .patch(`/v1/organizations/${org.id}`)
      .set(bearer(t.keys.csr))
      .send({ notes: null, customerRef: null })
      .expect(200);
    expect(cleared.body).toMatchObject({ notes: null, customerRef: null });

    const trail = await auditTrail(t, org.id);
    expect(trail.map((event) => event.action)).toEqual([
      'organization.created',
      'organization.updated',
      'organization.updated',
    ]);
    expect(trail[1]!.before.notes).toBe('first');
    expect(trail[1]!.after.notes).toBe('second');
  });

  it('applies concurrent updates one after the other: none is lost, the audit shows each', async () => {
    const org = await createOrganization(t);
    const names = Array.from({ length: 8 }, (_, i) => `Concurrent ${i} ${unique('n')}`);
    const responses = await Promise.all(
      names.map((name) => t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).send({ name })),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const etags = responses.map((response) => response.headers.etag).sort();
    expect(new Set(etags).size).toBe(8);
    const updates = (await auditTrail(t, org.id)).filter((event) => event.action === 'organization.updated');
    expect(updates).toHaveLength(8);
    // Each update's "before" is exactly the previous update's "after": nothing overwritten unseen.
    for (let i = 1; i < updates.length; i += 1) {
      expect(updates[i]!.before.name).toBe(updates[i - 1]!.after.name);
    }
    const final = await t.http.get(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).expect(200);
    expect(final.body.name).toBe(updates.at(-1)!.after.name);
    expect(final.headers.etag).toBe('"9"');
  });

  it('with If-Match, of two concurrent updates exactly one wins and the other gets 412', async () => {
    const org = await createOrganization(t);
    const [a, b] = await Promise.all(
      ['A', 'B'].map((name) =>
        t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).set('if-match', '"1"').send({ name }),
      ),
    );
    expect([a!.status, b!.status].sort()).toEqual([200, 412]);
  });

  it('suspends and reactivates, audited; suspending twice changes nothing', async () => {
    const org = await createOrganization(t);
    const suspended = await t.http.post(`/v1/organizations/${org.id}/suspend`).set(bearer(t.keys.csr)).expect(200);
    expect(suspended.body.status).toBe('suspended');
    await t.http.post(`/v1/organizations/${org.id}/suspend`).set(bearer(t.keys.csr)).expect(200);
    const listed = await t.http
      .get('/v1/organizations')
      .query({ q: org.name, status: 'suspended' })
      .set(bearer(t.keys.csr))
      .expect(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([org.id]);
    const reactivated = await t.http
      .post(`/v1/organizations/${org.id}/reactivate`)
      .set(bearer(t.keys.admin))
      .expect(200);
    expect(reactivated.body.status).toBe('active');
    const trail = await auditTrail(t, org.id);
    expect(trail.map((event) => event.action)).toEqual([
      'organization.created',
      'organization.suspended',
      'organization.reactivated',
    ]);
    expect(trail[1]).toMatchObject({ before: { status: 'active' }, after: { status: 'suspended' } });
  });

  it('answers 404 for unknown and malformed ids', async () => {
    const missing = await t.http
      .get('/v1/organizations/00000000-0000-4000-8000-000000000000')
      .set(bearer(t.keys.csr))
      .expect(404);
    expect(missing.body).toMatchObject({ status: 404, title: 'Not found' });
    await t.http.get('/v1/organizations/not-a-uuid').set(bearer(t.keys.csr)).expect(404);
    await t.http
      .patch('/v1/organizations/00000000-0000-4000-8000-000000000000')
      .set(bearer(t.keys.csr))
      .send({ name: 'x' })
      .expect(404);
  });
});
