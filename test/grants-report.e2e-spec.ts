import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createMailServer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

describe('grants report', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists every exception in force during the range: who asked, who approved, proof, reason, ticket, how it ended, usage; CSV too', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    const org = await createOrganization(t, { name: unique('Granted') });
    const request = async (reason: string) => {
      const server = await createMailServer(t, org.id);
      return (
        await t.http
          .post('/v1/exceptions')
          .set(bearer(t.keys.admin))
          .send({ mailServerId: server.id, reason, ticketRef: 'CHG-4471', justification: 'contract 2026-21' })
          .expect(201)
      ).body;
    };
    const kept = await request('partner relay');
    await t.http.post(`/v1/exceptions/${kept.id}/approve`).set(bearer(t.keys.admin2)).expect(200);
    const revoked = await request('=cmd|"/c calc"!A1 old scanner');
    await t.http.post(`/v1/exceptions/${revoked.id}/approve`).set(bearer(t.keys.admin2)).expect(200);
    await t.http.post(`/v1/exceptions/${revoked.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'scanner replaced' }).expect(200);
    const rejected = await request('never in force');
    await t.http.post(`/v1/exceptions/${rejected.id}/reject`).set(bearer(t.keys.admin2)).send({ reason: 'not our customer' }).expect(200);
    const after = new Date(Date.now() + 1000).toISOString();

    await t.http.get('/v1/reports/exceptions').query({ from: before, to: after }).set(bearer(t.keys.csr)).expect(403);
    const report = (await t.http.get('/v1/reports/exceptions').query({ from: before, to: after }).set(bearer(t.keys.auditor)).expect(200)).body;
    const mine = report.items.filter((item: { organization: { id: string } }) => item.organization.id === org.id);
    expect(mine.map((item: { exceptionId: string }) => item.exceptionId).sort()).toEqual([kept.id, revoked.id].sort());
    const row = mine.find((item: { exceptionId: string }) => item.exceptionId === kept.id);
    expect(row).toMatchObject({
      organization: { id: org.id, name: org.name },
      reason: 'partner relay',
      ticketRef: 'CHG-4471',
      override: true,
      justification: 'contract 2026-21',
      requestedBy: { owner: t.keys.admin.owner },
      approvedBy: { owner: t.keys.admin2.owner },
      ending: 'still_active',
      usage: { matchCount: 0, lastMatchedAt: null },
    });
    expect(row.proofAtGrant).toBeDefined();
    expect(mine.find((item: { exceptionId: string }) => item.exceptionId === revoked.id)).toMatchObject({ ending: 'revoked', revokeReason: 'scanner replaced' });

    const earlier = (await t.http.get('/v1/reports/exceptions').query({ from: '2020-01-01T00:00:00Z', to: before }).set(bearer(t.keys.admin)).expect(200)).body;
    expect(earlier.items.filter((item: { organization: { id: string } }) => item.organization.id === org.id)).toEqual([]);

    const csv = await t.http.get('/v1/reports/exceptions').query({ from: before, to: after, format: 'csv' }).set(bearer(t.keys.auditor)).expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toMatch(/^exceptionId,organizationId,organizationName,/);
    expect(lines.some((line) => line.startsWith(kept.id) && line.includes('still_active'))).toBe(true);
    expect(lines.some((line) => line.includes(`,"'=cmd|""/c calc""!A1 old scanner",`))).toBe(true);

    const bad = await t.http.get('/v1/reports/exceptions').query({ from: after, to: before }).set(bearer(t.keys.auditor)).expect(422);
    expect(bad.body.detail).toContain('from must be before to');
    await t.http.get('/v1/reports/exceptions').query({ from: 'yesterday', to: after }).set(bearer(t.keys.auditor)).expect(400);
  });
});
