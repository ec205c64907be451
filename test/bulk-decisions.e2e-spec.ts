import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { auditTrail, bearer, randomIpv4, type TestApp, type TestKey } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

/**
 * POST /v1/exceptions/bulk-decisions: a batch decided as single decisions
 * would be, one by one, each outcome reported (issue: 2 000 imported
 * requests should not need 2 000 clicks).
 */
describe('bulk decisions', () => {
  let t: TestApp;
  let dns: TestDnsServer;

  beforeAll(async () => ({ t, dns } = await startAppOnTestDns()));
  afterAll(() => stopAppOnTestDns(t, dns));

  /** A grant waiting for a second person (addresses proven by SPF alone), asked for with `key`. */
  async function pending(key: TestKey): Promise<string> {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()], proof: 'spf' });
    const granted = await t.http.post('/v1/exceptions').set(bearer(key)).send({ mailServerId: server.mailServerId, reason: 'imported map' }).expect(201);
    expect(granted.body.status).toBe('pending_approval');
    return granted.body.id;
  }
  const status = async (id: string) => (await t.http.get(`/v1/exceptions/${id}`).set(bearer(t.keys.auditor)).expect(200)).body.status;
  const bulk = (key: TestKey, body: Record<string, unknown>) => t.http.post('/v1/exceptions/bulk-decisions').set(bearer(key)).send(body);

  it('approves what the caller may approve and reports each refusal as a single approval would have answered it', async () => {
    const others = [await pending(t.keys.csr2), await pending(t.keys.csr2)];
    const own = await pending(t.keys.csr);
    const missing = randomUUID();
    const response = await bulk(t.keys.csr, { ids: [...others, own, missing], decision: 'approve' });
    expect(response.status).toBe(200);
    expect(response.body.summary).toEqual({ approved: 2, rejected: 0, failed: 2 });
    const [first, second, mine, unknown] = response.body.results;
    expect(first).toMatchObject({ id: others[0], outcome: 'approved', exception: { status: 'active', approvedByOwner: t.keys.csr.owner } });
    expect(second).toMatchObject({ id: others[1], outcome: 'approved' });
    expect(mine).toMatchObject({ id: own, outcome: 'failed', problem: { status: 403 } });
    expect(unknown).toMatchObject({ id: missing, outcome: 'failed', problem: { status: 404 } });
    expect(await status(others[0]!)).toBe('active');
    expect(await status(own)).toBe('pending_approval');
    // Each approval is audited as a single one is.
    expect((await auditTrail(t, others[0]!)).map((event) => event.action)).toContain('exception.approved');

    // Sent again: nothing is waiting any more, each says so (409), nothing changes.
    const again = await bulk(t.keys.csr, { ids: others, decision: 'approve' }).expect(200);
    expect(again.body.results.map((result: { problem?: { status: number } }) => result.problem?.status)).toEqual([409, 409]);
  });

  it('rejects with the reason recorded on each', async () => {
    const ids = [await pending(t.keys.csr2), await pending(t.keys.csr2)];
    const response = await bulk(t.keys.admin, { ids, decision: 'reject', reason: 'the map entries are obsolete' }).expect(200);
    expect(response.body.summary).toEqual({ approved: 0, rejected: 2, failed: 0 });
    for (const id of ids) {
      const read = (await t.http.get(`/v1/exceptions/${id}`).set(bearer(t.keys.auditor)).expect(200)).body;
      expect(read).toMatchObject({ status: 'rejected', rejectionReason: 'the map entries are obsolete', rejectedByOwner: t.keys.admin.owner });
    }
  });

  it('keeps an approval\'s reason on each approved exception and in its audit event, as a single approval keeps it', async () => {
    const ids = [await pending(t.keys.csr2), await pending(t.keys.csr2)];
    const response = await bulk(t.keys.csr, { ids, decision: 'approve', reason: 'checked the map against the CRM' }).expect(200);
    expect(response.body.summary).toEqual({ approved: 2, rejected: 0, failed: 0 });
    for (const id of ids) {
      const read = (await t.http.get(`/v1/exceptions/${id}`).set(bearer(t.keys.auditor)).expect(200)).body;
      expect(read).toMatchObject({ status: 'active', approvalNote: 'checked the map against the CRM', approvedByOwner: t.keys.csr.owner });
      const approved = (await auditTrail(t, id)).find((event) => event.action === 'exception.approved');
      expect(approved?.after).toMatchObject({ approvalNote: 'checked the map against the CRM' });
    }
    // One at a time, the same: the reason is optional and kept when given.
    const single = await pending(t.keys.csr2);
    const approved = await t.http.post(`/v1/exceptions/${single}/approve`).set(bearer(t.keys.csr)).send({ reason: 'customer confirmed by phone' }).expect(200);
    expect(approved.body.approvalNote).toBe('customer confirmed by phone');
    const silent = await pending(t.keys.csr2);
    expect((await t.http.post(`/v1/exceptions/${silent}/approve`).set(bearer(t.keys.csr)).expect(200)).body.approvalNote).toBeNull();
    // An approval's reason is checked like a rejection's.
    const tooShort = await bulk(t.keys.csr, { ids: [await pending(t.keys.csr2)], decision: 'approve', reason: 'ok' });
    expect(tooShort.status).toBe(400);
    expect(tooShort.body.errors.map((error: { field: string }) => error.field)).toEqual(['reason']);
  });

  it('lists pending renewals with pending grants as waiting for approval, and decides them in a batch with their reason', async () => {
    /** An active exception whose renewal waits for approval (a long window), asked for with `key`. */
    async function renewing(key: TestKey): Promise<string> {
      const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
      const granted = await t.http.post('/v1/exceptions').set(bearer(key)).send({ mailServerId: server.mailServerId, reason: 'until the fix' }).expect(201);
      expect(granted.body.status).toBe('active');
      const wanted = new Date(Date.now() + 200 * 86_400_000).toISOString();
      const asked = await t.http.post(`/v1/exceptions/${granted.body.id}/renew`).set(bearer(key)).send({ expiresAt: wanted }).expect(200);
      expect(asked.body.renewal).toMatchObject({ expiresAt: wanted, requestedByOwner: key.owner, approvalReasons: ['long_duration'] });
      return granted.body.id;
    }
    const grant = await pending(t.keys.csr2);
    const renewals = [await renewing(t.keys.csr2), await renewing(t.keys.csr2)];
    const settled = (await t.http.post('/v1/exceptions').set(bearer(t.keys.csr2)).send({
      mailServerId: (await provenMailServer(t, dns, { addresses: [randomIpv4()] })).mailServerId,
      reason: 'nothing to approve',
    })).body.id as string;

    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await t.http
        .get('/v1/exceptions')
        .query({ awaitingApproval: 'true', limit: 200, ...(cursor ? { cursor } : {}) })
        .set(bearer(t.keys.auditor))
        .expect(200);
      listed.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(listed).toEqual(expect.arrayContaining([grant, ...renewals]));
    expect(listed).not.toContain(settled);
    await t.http.get('/v1/exceptions').query({ awaitingApproval: 'maybe' }).set(bearer(t.keys.auditor)).expect(400);

    const approved = await bulk(t.keys.csr, { ids: [renewals[0], grant], decision: 'approve', reason: 'renewal agreed with the customer' }).expect(200);
    expect(approved.body.summary).toEqual({ approved: 2, rejected: 0, failed: 0 });
    expect(approved.body.results[0].exception).toMatchObject({ renewal: null, status: 'active' });
    const renewalEvent = (await auditTrail(t, renewals[0]!)).find((event) => event.action === 'exception.renewal_approved');
    expect(renewalEvent?.after).toMatchObject({ decisionReason: 'renewal agreed with the customer' });

    const rejected = await bulk(t.keys.csr, { ids: [renewals[1]], decision: 'reject', reason: 'the fix ships next month' }).expect(200);
    expect(rejected.body.summary).toEqual({ approved: 0, rejected: 1, failed: 0 });
    expect(rejected.body.results[0].exception).toMatchObject({ status: 'active', renewal: null });
    const rejection = (await auditTrail(t, renewals[1]!)).find((event) => event.action === 'exception.renewal_rejected');
    expect(rejection?.after).toMatchObject({ decisionReason: 'the fix ships next month' });
  });

  it('refuses a malformed batch as a whole, deciding nothing', async () => {
    const id = await pending(t.keys.csr2);
    const noReason = await bulk(t.keys.csr, { ids: [id], decision: 'reject' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors.map((error: { field: string }) => error.field)).toContain('reason');
    const twice = await bulk(t.keys.csr, { ids: [id, id], decision: 'approve' });
    expect(twice.status).toBe(400);
    const tooMany = await bulk(t.keys.csr, { ids: Array.from({ length: 501 }, () => randomUUID()), decision: 'approve' });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].field).toBe('ids');
    const unknownDecision = await bulk(t.keys.csr, { ids: [id], decision: 'maybe' });
    expect(unknownDecision.status).toBe(400);
    expect(await status(id)).toBe('pending_approval');
  });

  it('is for csr and admin only', async () => {
    const id = await pending(t.keys.csr2);
    await bulk(t.keys.auditor, { ids: [id], decision: 'approve' }).expect(403);
    await bulk(t.keys.filter, { ids: [id], decision: 'approve' }).expect(403);
    expect(await status(id)).toBe('pending_approval');
  });
});
