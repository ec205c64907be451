import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@app/domain';
import { bearer, startTestApp, unique, type TestApp, type TestKey } from './support/test-app.js';

const MINUTE = 60_000;

/** The `name=value` of the session cookie a response sets, and its attributes. */
function sessionCookie(response: { headers: Record<string, unknown> }): { pair: string; token: string; attributes: string[] } {
  const header = [response.headers['set-cookie']].flat().find((line): line is string => typeof line === 'string' && line.startsWith('helopass_session='));
  expect(header, 'a helopass_session cookie is set').toBeDefined();
  const [pair, ...attributes] = header!.split(';').map((part) => part.trim());
  return { pair: pair!, token: pair!.slice('helopass_session='.length), attributes: attributes.map((part) => part.toLowerCase()) };
}

describe('console sessions', () => {
  let t: TestApp;
  const clock = new ManualClock(new Date('2026-12-09T09:00:00Z'));

  beforeAll(async () => {
    t = await startTestApp({ CONSOLE_SESSION_IDLE_MINUTES: '30', CONSOLE_SESSION_MAX_HOURS: '1', TRUSTED_PROXIES: '127.0.0.1' }, clock);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function signIn(key: TestKey, headers: Record<string, string> = {}) {
    const response = await t.http.post('/v1/console/session').set(headers).send({ key: key.key });
    expect(response.status, response.text).toBe(201);
    return { ...sessionCookie(response), csrf: response.body.csrfToken as string, body: response.body };
  }

  it('exchanges a person\'s key for an HttpOnly, SameSite=Strict cookie; the key is not echoed and only a hash is stored', async () => {
    const session = await signIn(t.keys.csr);
    expect(session.attributes).toContain('httponly');
    expect(session.attributes).toContain('samesite=strict');
    expect(session.attributes).toContain('path=/');
    expect(session.attributes).not.toContain('secure'); // plain HTTP here
    expect(JSON.stringify(session.body)).not.toContain(t.keys.csr.key);
    expect(session.body.caller).toMatchObject({ role: 'csr', owner: t.keys.csr.owner, keyId: t.keys.csr.id });
    const stored = await t.prisma.consoleSession.findMany({ where: { apiKeyId: t.keys.csr.id } });
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.some((row) => row.tokenHash === createHash('sha256').update(session.token).digest('hex'))).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(session.token);
  });

  it('keeps a customer\'s session inside its organization, as its key is', async () => {
    const other = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name: unique('Org') }).expect(201);
    const session = await signIn(t.keys.customer);
    expect(session.body.caller).toMatchObject({ role: 'customer', keyId: t.keys.customer.id });
    const listed = await t.http.get('/v1/organizations').set('cookie', session.pair).expect(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([t.keys.customer.organizationId]);
    await t.http.get(`/v1/organizations/${other.body.id}`).set('cookie', session.pair).expect(404);
    await t.http.delete('/v1/console/session').set({ cookie: session.pair, 'x-csrf-token': session.csrf }).expect(204);
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(401);
  });

  it('marks the cookie Secure when the request came over TLS (a trusted proxy says so)', async () => {
    const session = await signIn(t.keys.auditor, { 'x-forwarded-proto': 'https' });
    expect(session.attributes).toContain('secure');
  });

  it('authenticates API calls with the key\'s role; changes need the CSRF token', async () => {
    const session = await signIn(t.keys.csr);
    const listed = await t.http.get('/v1/organizations').set('cookie', session.pair);
    expect(listed.status).toBe(200);
    const withoutToken = await t.http.post('/v1/organizations').set('cookie', session.pair).send({ name: unique('Org') });
    expect(withoutToken.status).toBe(403);
    expect(withoutToken.body.detail).toContain('CSRF');
    const wrongToken = await t.http.post('/v1/organizations').set({ cookie: session.pair, 'x-csrf-token': 'x'.repeat(43) }).send({ name: unique('Org') });
    expect(wrongToken.status).toBe(403);
    const name = unique('Org');
    const created = await t.http.post('/v1/organizations').set({ cookie: session.pair, 'x-csrf-token': session.csrf }).send({ name });
    expect(created.status).toBe(201);
    // Written as the csr: the audit event names the key behind the session.
    const events = await t.http.get('/v1/audit-events').query({ entityId: created.body.id }).set(bearer(t.keys.auditor)).expect(200);
    expect(events.body.items[0].actor).toMatchObject({ id: t.keys.csr.id, role: 'csr' });
    // Refused writes wrote nothing.
    expect(await t.prisma.organization.count({ where: { name } })).toBe(1);
  });

  it('keeps an auditor read-only', async () => {
    const session = await signIn(t.keys.auditor);
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(200);
    const refused = await t.http.post('/v1/organizations').set({ cookie: session.pair, 'x-csrf-token': session.csrf }).send({ name: unique('Org') });
    expect(refused.status).toBe(403);
  });

  it('refuses a filter key (nothing stored) and an unknown key (401)', async () => {
    const before = await t.prisma.consoleSession.count({ where: { apiKeyId: t.keys.filter.id } });
    const filter = await t.http.post('/v1/console/session').send({ key: t.keys.filter.key });
    expect(filter.status).toBe(403);
    expect(filter.body.detail).toContain('filter key cannot sign in');
    expect(filter.headers['set-cookie']).toBeUndefined();
    expect(await t.prisma.consoleSession.count({ where: { apiKeyId: t.keys.filter.id } })).toBe(before);
    const unknown = await t.http.post('/v1/console/session').send({ key: 'hp_' + 'A'.repeat(40) });
    expect(unknown.status).toBe(401);
    expect(unknown.headers['set-cookie']).toBeUndefined();
    expect(JSON.stringify(unknown.body)).not.toContain('A'.repeat(40));
  });

  it('refuses a forged cookie', async () => {
    const forged = await t.http.get('/v1/organizations').set('cookie', `helopass_session=${'B'.repeat(43)}`);
    expect(forged.status).toBe(401);
  });

  it('ends after the idle time-out', async () => {
    const session = await signIn(t.keys.csr);
    clock.advance(29 * MINUTE);
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(200);
    clock.advance(29 * MINUTE); // 58 minutes after sign-in, 29 after the last use
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(200);
    clock.advance(31 * MINUTE);
    const idle = await t.http.get('/v1/organizations').set('cookie', session.pair);
    expect(idle.status).toBe(401);
    expect(idle.body.detail).toContain('sign in again');
  });

  it('ends at its absolute expiry however busy it is', async () => {
    const session = await signIn(t.keys.csr);
    for (let minutes = 20; minutes < 60; minutes += 20) {
      clock.advance(20 * MINUTE);
      await t.http.get('/v1/organizations').set('cookie', session.pair).expect(200);
    }
    clock.advance(21 * MINUTE); // 61 minutes after sign-in, 21 after the last use
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(401);
  });

  it('signs out: the session no longer works and is marked revoked', async () => {
    const session = await signIn(t.keys.admin);
    const current = await t.http.get('/v1/console/session').set('cookie', session.pair).expect(200);
    expect(current.body.session).toMatchObject({ id: session.body.id, csrfToken: session.csrf });
    // Sign-out changes state: a cross-site request without the token cannot sign the person out either.
    await t.http.delete('/v1/console/session').set('cookie', session.pair).expect(403);
    const out = await t.http.delete('/v1/console/session').set({ cookie: session.pair, 'x-csrf-token': session.csrf });
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/helopass_session=;/);
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(401);
    const row = await t.prisma.consoleSession.findUnique({ where: { id: session.body.id } });
    expect(row?.revokedAt).not.toBeNull();
  });

  it('audits sign-in and sign-out with the key\'s owner, never the key or the token; the chain still verifies', async () => {
    const session = await signIn(t.keys.csr2);
    await t.http.delete('/v1/console/session').set({ cookie: session.pair, 'x-csrf-token': session.csrf }).expect(204);
    // A second sign-out with the same cookie is refused (the session is gone) and audits nothing more.
    await t.http.delete('/v1/console/session').set({ cookie: session.pair, 'x-csrf-token': session.csrf }).expect(401);
    const trail = await t.http.get('/v1/audit-events').query({ entityId: session.body.id }).set(bearer(t.keys.auditor)).expect(200);
    const events = (trail.body.items as Array<Record<string, any>>).reverse();
    expect(events.map((event) => event.action)).toEqual(['console_session.started', 'console_session.ended']);
    for (const event of events) {
      expect(event).toMatchObject({ entityType: 'console_session', entityId: session.body.id, organizationId: null });
      expect(event.actor).toMatchObject({ id: t.keys.csr2.id, role: 'csr', owner: t.keys.csr2.owner });
      const stored = JSON.stringify(event);
      expect(stored).not.toContain(t.keys.csr2.key);
      expect(stored).not.toContain(session.token);
      expect(stored).not.toContain(session.csrf);
    }
    expect(events[0]!.after).toMatchObject({ keyId: t.keys.csr2.id, owner: t.keys.csr2.owner, role: 'csr', expiresAt: session.body.expiresAt });
    expect(events[1]!.after).toMatchObject({ keyId: t.keys.csr2.id, ended: 'signed_out' });
    // Found by action, as any other kind of event, and the chain they joined verifies.
    const started = await t.http.get('/v1/audit-events').query({ action: 'console_session.', actorId: t.keys.csr2.id }).set(bearer(t.keys.auditor)).expect(200);
    expect(started.body.items.map((event: { entityId: string }) => event.entityId)).toContain(session.body.id);
    const verified = await t.http.get('/v1/audit-events/verify').set(bearer(t.keys.auditor)).expect(200);
    expect(verified.body).toMatchObject({ valid: true, problem: null });
  });

  it('audits a customer\'s session under its organization', async () => {
    const session = await signIn(t.keys.customer);
    const trail = await t.http.get('/v1/audit-events').query({ entityId: session.body.id }).set(bearer(t.keys.auditor)).expect(200);
    expect(trail.body.items).toHaveLength(1);
    expect(trail.body.items[0]).toMatchObject({ action: 'console_session.started', organizationId: t.keys.customer.organizationId });
  });

  it('ends when its key is revoked', async () => {
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.keys.admin))
      .send({ name: unique('short'), role: 'csr', owner: `${unique('rep')}@example.test` })
      .expect(201);
    const key: TestKey = { id: created.body.id, key: created.body.key, role: 'csr', name: created.body.name, owner: created.body.owner, organizationId: null };
    const session = await signIn(key);
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(200);
    await t.http.delete(`/v1/api-keys/${key.id}`).set(bearer(t.keys.admin)).expect(200);
    await t.http.get('/v1/organizations').set('cookie', session.pair).expect(401);
  });

  it('answers who is signed in to a caller with a key, without a session', async () => {
    const current = await t.http.get('/v1/console/session').set(bearer(t.keys.auditor)).expect(200);
    expect(current.body).toMatchObject({ caller: { role: 'auditor', keyId: t.keys.auditor.id }, session: null });
  });
});
