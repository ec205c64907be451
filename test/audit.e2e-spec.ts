import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { applyMigrations } from '@app/database';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { bearer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

describe('audit trail', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('filters by organization, entity, actor, action and time, newest first, with a cursor', async () => {
    const org = await createOrganization(t);
    await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr2)).send({ notes: 'n1' }).expect(200);
    await t.http.post(`/v1/organizations/${org.id}/suspend`).set(bearer(t.keys.admin)).expect(200);
    const from = new Date(Date.now() - 60_000).toISOString();

    const all = await t.http
      .get('/v1/audit-events')
      .query({ organizationId: org.id })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(all.body.items.map((event: { action: string }) => event.action)).toEqual([
      'organization.suspended',
      'organization.updated',
      'organization.created',
    ]);

    const byActor = await t.http
      .get('/v1/audit-events')
      .query({ organizationId: org.id, actorId: t.keys.csr2.id })
      .set(bearer(t.keys.admin))
      .expect(200);
    expect(byActor.body.items.map((event: { action: string }) => event.action)).toEqual(['organization.updated']);

    const byAction = await t.http
      .get('/v1/audit-events')
      .query({ entityType: 'organization', entityId: org.id, action: 'organization.suspended', from })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(byAction.body.items).toHaveLength(1);
    expect(byAction.body.items[0]).toMatchObject({ actor: { id: t.keys.admin.id, role: 'admin' } });

    const future = await t.http
      .get('/v1/audit-events')
      .query({ organizationId: org.id, from: new Date(Date.now() + 60_000).toISOString() })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(future.body.items).toEqual([]);
    const past = await t.http
      .get('/v1/audit-events')
      .query({ organizationId: org.id, to: from })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(past.body.items).toEqual([]);

    const first = await t.http
      .get('/v1/audit-events')
      .query({ organizationId: org.id, limit: 2 })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(first.body.items).toHaveLength(2);
    const second = await t.http
      .get('/v1/audit-events')
      .query({ organizationId: org.id, limit: 2, cursor: first.body.nextCursor })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(second.body.items.map((event: { action: string }) => event.action)).toEqual(['organization.created']);
    expect(second.body.nextCursor).toBeNull();

    await t.http.get('/v1/audit-events').query({ action: 'DROP TABLE' }).set(bearer(t.keys.auditor)).expect(400);
    await t.http.get('/v1/audit-events').query({ from: 'yesterday' }).set(bearer(t.keys.auditor)).expect(400);
  });

  it('is append-only: even its owner is refused UPDATE, DELETE and TRUNCATE while the guard stands', async () => {
    await createOrganization(t, { name: unique('AppendOnly') });
    const owner = new pg.Client({ connectionString: inject('ownerUrl') });
    await owner.connect();
    try {
      await expect(owner.query(`UPDATE audit_events SET action = 'x.y'`)).rejects.toThrow(/append-only/);
      await expect(owner.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
      await expect(owner.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only|referenced in a foreign key/);
      await expect(owner.query(`UPDATE audit_chain SET hash = prev_hash`)).rejects.toThrow(/audit_chain is append-only/);
      await expect(owner.query(`DELETE FROM audit_chain`)).rejects.toThrow(/audit_chain is append-only/);
    } finally {
      await owner.end();
    }
    expect(await t.prisma.auditEvent.count()).toBeGreaterThan(0);
  });

  it('verifies the hash chain over every event', async () => {
    await createOrganization(t);
    const report = await t.http.get('/v1/audit-events/verify').query({ mode: 'full' }).set(bearer(t.keys.auditor)).expect(200);
    expect(report.body).toMatchObject({ valid: true, firstBrokenEventId: null });
    expect(report.body.checked).toBe(await t.prisma.auditEvent.count());
    expect(report.body.lastHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('chains events written at once, each exactly once, in a gapless order that verifies', async () => {
    const created = await Promise.all(Array.from({ length: 24 }, () => createOrganization(t)));
    const report = await t.http.get('/v1/audit-events/verify').query({ mode: 'full' }).set(bearer(t.keys.auditor)).expect(200);
    expect(report.body).toMatchObject({ valid: true, problem: null, unchained: 0, fromPosition: 0 });
    const links = await t.prisma.auditChainLink.findMany({ where: { event: { entityId: { in: created.map((org) => org.id) } } } });
    expect(links).toHaveLength(24);
    const all = await t.prisma.auditChainLink.aggregate({ _count: true, _max: { position: true }, _min: { position: true } });
    expect(all._min.position).toBe(1n);
    expect(all._max.position).toBe(BigInt(all._count));
  });

  it('detects an event altered behind the API (in a database of its own)', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'tamper');
    try {
      await applyMigrations(databaseUrl);
      const own = await startTestApp({ DATABASE_URL: databaseUrl });
      try {
        const org = await createOrganization(own, { name: 'Before tampering' });
        await own.http.patch(`/v1/organizations/${org.id}`).set(bearer(own.keys.csr)).send({ notes: 'x' }).expect(200);
        const clean = await own.http.get('/v1/audit-events/verify').set(bearer(own.keys.admin)).expect(200);
        expect(clean.body.valid).toBe(true);

        // Only someone who can switch the guard trigger off could do this; the chain still tells.
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
        const target = await client.query(
          `UPDATE audit_events SET after = jsonb_set(after, '{name}', '"Rewritten"')
           WHERE entity_id = $1 AND action = 'organization.created' RETURNING id`,
          [org.id],
        );
        await client.end();
        const broken = await own.http.get('/v1/audit-events/verify').set(bearer(own.keys.admin)).expect(200);
        expect(broken.body).toMatchObject({ valid: false, firstBrokenEventId: target.rows[0].id, problem: 'event_rewritten' });
        expect(broken.body.detail).toMatch(/changed after it was recorded/);
      } finally {
        await own.close();
      }
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });
});
