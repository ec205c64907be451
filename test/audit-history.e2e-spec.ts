import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createMailServer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

describe('timelines of one resource', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('an organization: every event oldest first, who did it, before, after and what changed in words', async () => {
    const org = await createOrganization(t, { name: unique('Timeline') });
    await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr2)).send({ notes: 'moved to the new relay' }).expect(200);
    await t.http.post(`/v1/organizations/${org.id}/suspend`).set(bearer(t.keys.admin)).expect(200);
    for (const key of [t.keys.csr, t.keys.auditor, t.keys.admin]) {
      await t.http.get(`/v1/organizations/${org.id}/history`).set(bearer(key)).expect(200);
    }
    await t.http.get(`/v1/organizations/${org.id}/history`).set(bearer(t.keys.filter)).expect(403);
    const history = (await t.http.get(`/v1/organizations/${org.id}/history`).set(bearer(t.keys.auditor)).expect(200)).body;
    expect(history.map((event: { action: string }) => event.action)).toEqual(['organization.created', 'organization.updated', 'organization.suspended']);
    expect(history[1]).toMatchObject({
      actor: { id: t.keys.csr2.id, owner: t.keys.csr2.owner },
      before: { notes: null },
      after: { notes: 'moved to the new relay' },
      changes: [{ field: 'notes', before: null, after: 'moved to the new relay', text: 'notes: set to "moved to the new relay"' }],
    });
    expect(history[2].changes.map((change: { text: string }) => change.text)).toContain('status: "active" → "suspended"');
    expect(history[0].changes.map((change: { field: string }) => change.field)).toContain('name');
    expect(history[2].changes.map((change: { field: string }) => change.field)).not.toContain('updatedAt');

    const missing = await t.http.get(`/v1/organizations/${randomUUID()}/history`).set(bearer(t.keys.auditor)).expect(404);
    expect(missing.headers['content-type']).toMatch(/problem\+json/);
    await t.http.get('/v1/organizations/not-a-uuid/history').set(bearer(t.keys.auditor)).expect(404);
  });

  it('a mail server and a domain have theirs; an exception\'s history names its changes the same way', async () => {
    const org = await createOrganization(t);
    const server = await createMailServer(t, org.id);
    await t.http.patch(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).send({ description: 'edge relay' }).expect(200);
    const servers = (await t.http.get(`/v1/mail-servers/${server.id}/history`).set(bearer(t.keys.csr)).expect(200)).body;
    expect(servers.map((event: { action: string }) => event.action)).toEqual(['mail_server.created', 'mail_server.updated']);
    expect(servers[1].changes).toEqual([{ field: 'description', before: null, after: 'edge relay', text: 'description: set to "edge relay"' }]);
    await t.http.get(`/v1/mail-servers/${randomUUID()}/history`).set(bearer(t.keys.csr)).expect(404);

    const domain = (await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name: `${unique('hist')}.example.com` }).expect(201)).body;
    const domains = (await t.http.get(`/v1/domains/${domain.id}/history`).set(bearer(t.keys.admin)).expect(200)).body;
    expect(domains[0]).toMatchObject({ action: 'domain.created', entityId: domain.id });
    expect(domains[0].changes.map((change: { field: string }) => change.field)).toContain('name');
    await t.http.get(`/v1/domains/${randomUUID()}/history`).set(bearer(t.keys.admin)).expect(404);

    const requested = (
      await t.http.post('/v1/exceptions').set(bearer(t.keys.admin)).send({ mailServerId: server.id, reason: 'partner relay', justification: 'contract 2026-44' }).expect(201)
    ).body;
    await t.http.post(`/v1/exceptions/${requested.id}/reject`).set(bearer(t.keys.admin2)).send({ reason: 'not our customer' }).expect(200);
    const exception = (await t.http.get(`/v1/exceptions/${requested.id}/history`).set(bearer(t.keys.auditor)).expect(200)).body;
    expect(exception.at(-1).changes.map((change: { text: string }) => change.text)).toEqual(
      expect.arrayContaining(['status: "pending_approval" → "rejected"', 'rejectionReason: set to "not our customer"']),
    );
  });

  it('any resource as it stood at an instant (?asOf): the state its last event by then recorded, from that resource\'s events alone', async () => {
    const pause = () => new Promise((done) => setTimeout(done, 5));
    const before = new Date();
    await pause();
    const org = await createOrganization(t, { name: unique('AsOf') });
    await pause();
    const created = new Date();
    await pause();
    await t.http.post(`/v1/organizations/${org.id}/suspend`).set(bearer(t.keys.admin)).expect(200);
    await pause();
    const suspended = new Date();
    const state = (asOf: Date, key = t.keys.auditor, entityId = org.id) =>
      t.http.get('/v1/audit-events/state').query({ entityType: 'organization', entityId, asOf: asOf.toISOString() }).set(bearer(key));

    expect((await state(before).expect(200)).body).toEqual({ entityType: 'organization', entityId: org.id, asOf: before.toISOString(), state: null, event: null });
    const then = (await state(created).expect(200)).body;
    expect(then.state).toMatchObject({ id: org.id, name: org.name, status: 'active' });
    expect(then.event).toMatchObject({ action: 'organization.created', entityId: org.id });
    const now = (await state(suspended, t.keys.admin).expect(200)).body;
    expect(now.state).toMatchObject({ id: org.id, status: 'suspended' });
    expect(now.event.action).toBe('organization.suspended');

    await state(suspended, t.keys.csr).expect(403);
    const unknown = await state(suspended, t.keys.auditor, randomUUID()).expect(404);
    expect(unknown.headers['content-type']).toMatch(/problem\+json/);
    const bad = await t.http.get('/v1/audit-events/state').query({ entityType: 'organization', entityId: org.id, asOf: 'last week' }).set(bearer(t.keys.auditor)).expect(400);
    expect(bad.body.errors.map((error: { field: string }) => error.field)).toEqual(['asOf']);
    await t.http.get('/v1/audit-events/state').query({ entityType: 'Organization; DROP', entityId: org.id, asOf: suspended.toISOString() }).set(bearer(t.keys.auditor)).expect(400);
  });
});
