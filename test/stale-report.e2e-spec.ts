import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@app/domain';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, randomIpv4, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

const DAY = 86_400_000;
const FORMULA = '=HYPERLINK("http://evil.example","click")';

/** GET /v1/reports/stale-exceptions: active exceptions no mail needed lately, with owners and contacts. */
describe('stale-exception report', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  const clock = new ManualClock();
  const start = clock.now().getTime();
  const ids: Record<string, string> = {};
  let organizationId: string;
  const contact = `${unique('noc')}@customer.example`;

  async function grant(name: string, options: { matchedAt?: number; then?: 'revoke' } = {}): Promise<string> {
    const server = await provenMailServer(t, dns, { addresses: [randomIpv4()] });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
    if (options.matchedAt !== undefined) {
      // Usage as the policy server rolls it up.
      await t.prisma.exception.update({ where: { id: granted.body.id }, data: { lastMatchedAt: new Date(start + options.matchedAt), matchCount: 7 } });
    }
    if (options.then === 'revoke') {
      await t.http.post(`/v1/exceptions/${granted.body.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'fixed' }).expect(200);
    }
    ids[name] = granted.body.id;
    return server.organizationId;
  }

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' }, clock);
    organizationId = await grant('neverMatched');
    await t.http.patch(`/v1/organizations/${organizationId}`).set(bearer(t.keys.csr)).send({ name: FORMULA, customerRef: 'C-1001', technicalContacts: [contact] }).expect(200);
    await grant('matchedLongAgo', { matchedAt: 1 * DAY });
    await grant('matchedLately', { matchedAt: 30 * DAY });
    await grant('revoked', { then: 'revoke' });
    const suspendedOrg = await grant('suspended');
    await t.http.post(`/v1/organizations/${suspendedOrg}/suspend`).set(bearer(t.keys.csr)).expect(200);
    clock.set(new Date(start + 20 * DAY));
    await grant('young');
    clock.set(new Date(start + 46 * DAY));
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  const report = (query: Record<string, string | number> = {}, key = t.keys.csr) => t.http.get('/v1/reports/stale-exceptions').query(query).set(bearer(key));

  it('lists active exceptions with no match in unusedDays (never matched counts from the start), longest unused first, with owners and contacts', async () => {
    const { body } = await report({ unusedDays: 45 }).expect(200);
    expect(body).toMatchObject({ unusedDays: 45, asOf: new Date(start + 46 * DAY).toISOString(), nextCursor: null });
    expect(body.items.map((item: { id: string }) => item.id)).toEqual([ids.neverMatched, ids.matchedLongAgo]);
    expect(body.items[0]).toMatchObject({
      organizationId,
      organizationName: FORMULA,
      customerRef: 'C-1001',
      technicalContacts: [contact],
      scope: 'pair',
      lastMatchedAt: null,
      matchCount: 0,
      unusedSince: new Date(start).toISOString(),
      unusedDays: 46,
      requestedByOwner: t.keys.csr.owner,
      approvedByOwner: null,
    });
    expect(body.items[1]).toMatchObject({ lastMatchedAt: new Date(start + DAY).toISOString(), matchCount: 7, unusedDays: 45 });

    // Fewer days, more candidates; the default is STALE_EXCEPTION_UNUSED_DAYS (45).
    expect((await report({ unusedDays: 20 }).expect(200)).body.items.map((item: { id: string }) => item.id)).toEqual([ids.neverMatched, ids.matchedLongAgo, ids.young]);
    expect((await report({}, t.keys.auditor).expect(200)).body.items).toHaveLength(2);

    const first = await report({ unusedDays: 45, limit: 1 }, t.keys.admin).expect(200);
    expect(first.body.items.map((item: { id: string }) => item.id)).toEqual([ids.neverMatched]);
    const second = await report({ unusedDays: 45, limit: 1, cursor: first.body.nextCursor }).expect(200);
    expect(second.body).toMatchObject({ items: [{ id: ids.matchedLongAgo }], nextCursor: null });
  });

  it('answers the whole report as CSV (format=csv or Accept: text/csv), a formula in a cell defused', async () => {
    const csv = await report({ unusedDays: 45, format: 'csv' }).expect(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="stale-exceptions.csv"');
    const lines = csv.text.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(
      'id,organizationId,organizationName,customerRef,technicalContacts,mailServerId,heloHostname,addresses,scope,startsAt,expiresAt,lastMatchedAt,matchCount,unusedSince,unusedDays,requestedByOwner,approvedByOwner',
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(`${ids.neverMatched},${organizationId},"'=HYPERLINK(""http://evil.example"",""click"")",C-1001,${contact},`);
    expect(lines[1]).toContain(`,pair,${new Date(start).toISOString()},`);
    expect(lines[1]!.endsWith(`,,0,${new Date(start).toISOString()},46,${t.keys.csr.owner},`)).toBe(true);
    expect(lines[2]!.startsWith(`${ids.matchedLongAgo},`)).toBe(true);

    const accepted = await t.http.get('/v1/reports/stale-exceptions').set(bearer(t.keys.auditor)).set('accept', 'text/csv').expect(200);
    expect(accepted.text).toBe(csv.text);
  });

  it('refuses a bad unusedDays or format with a problem naming it', async () => {
    for (const [query, field] of [
      [{ unusedDays: 0 }, 'unusedDays'],
      [{ unusedDays: 'soon' }, 'unusedDays'],
      [{ unusedDays: 4000 }, 'unusedDays'],
      [{ format: 'xlsx' }, 'format'],
    ] as const) {
      const refused = await report(query).expect(400);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(JSON.stringify(refused.body)).toContain(field);
    }
  });
});
