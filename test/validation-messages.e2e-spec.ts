import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createMailServer, createOrganization, randomIpv4, startTestApp, unique, type TestApp } from './support/test-app.js';

const PROBLEM = 'application/problem+json';

/** What a caller reads in a 400: one message per field. */
function messagesOf(body: { errors: { field: string; message: string }[] }): Record<string, string> {
  const fields = body.errors.map((error) => error.field);
  expect(new Set(fields).size, `one message per field: ${JSON.stringify(body.errors)}`).toBe(fields.length);
  return Object.fromEntries(body.errors.map((error) => [error.field, error.message]));
}

describe('invalid input answers one clear message per field', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('a missing field is "is required", and nothing else about it', async () => {
    const org = await createOrganization(t);
    const before = await t.prisma.mailServer.count({ where: { organizationId: org.id } });
    const server = await t.http.post(`/v1/organizations/${org.id}/mail-servers`).set(bearer(t.keys.csr)).send({}).expect(400);
    expect(server.headers['content-type']).toContain(PROBLEM);
    expect(messagesOf(server.body)).toEqual({ heloHostname: 'is required', addresses: 'is required' });
    expect(server.body.detail).toBe('heloHostname is required; addresses is required');
    expect(await t.prisma.mailServer.count({ where: { organizationId: org.id } })).toBe(before);

    const organization = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ notes: 'no name' }).expect(400);
    expect(messagesOf(organization.body)).toEqual({ name: 'is required' });

    const key = await t.http.post('/v1/api-keys').set(bearer(t.keys.admin)).send({}).expect(400);
    expect(messagesOf(key.body)).toEqual({ name: 'is required', role: 'is required' });

    const grant = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({}).expect(400);
    expect(messagesOf(grant.body)).toEqual({ mailServerId: 'is required', reason: 'is required' });

    const diagnosis = await t.http.get('/v1/diagnostics/helo').set(bearer(t.keys.csr)).expect(400);
    expect(Object.values(messagesOf(diagnosis.body))).toEqual(expect.arrayContaining(['is required']));
  });

  it('a wrong value answers the check that matters most: its type before its length, its length before its format', async () => {
    const org = await createOrganization(t);
    const typed = await t.http
      .post(`/v1/organizations/${org.id}/mail-servers`)
      .set(bearer(t.keys.csr))
      .send({ heloHostname: 42, addresses: '192.0.2.1' })
      .expect(400);
    expect(messagesOf(typed.body)).toEqual({ heloHostname: 'must be a string', addresses: 'must be an array' });

    const sized = await t.http
      .post(`/v1/organizations/${org.id}/mail-servers`)
      .set(bearer(t.keys.csr))
      .send({ heloHostname: '', addresses: [] })
      .expect(400);
    expect(messagesOf(sized.body)).toEqual({ heloHostname: 'should not be empty', addresses: 'must contain at least 1 elements' });

    const long = 'x'.repeat(201);
    const named = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .send({ name: long, customerRef: `${'has space'.repeat(10)}` })
      .expect(400);
    expect(messagesOf(named.body)).toEqual({
      name: 'must be shorter than or equal to 200 characters',
      customerRef: 'must be shorter than or equal to 64 characters',
    });
    expect(JSON.stringify(named.body)).not.toContain(long);

    // A control character is what is wrong with a value that also breaks a limit.
    const controlled = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name: `${long}\u0000` }).expect(400);
    expect(messagesOf(controlled.body)).toEqual({ name: 'must not contain control characters' });
    const notes = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .send({ name: unique('Org'), notes: `${'n'.repeat(4001)}\u0007` })
      .expect(400);
    expect(messagesOf(notes.body)).toEqual({ notes: 'must not contain control characters other than tab and line breaks' });

    // An unknown field is named once, as not allowed.
    const unknown = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name: unique('Org'), colour: 'blue' }).expect(400);
    expect(messagesOf(unknown.body)).toEqual({ colour: 'is not an allowed field' });
  });

  it('a (HELO, address) held by another organization is refused naming the address, the HELO name and who holds it', async () => {
    const holder = await createOrganization(t, { name: unique('Holder Ltd') });
    const second = await createOrganization(t);
    const helo = `${unique('exch01')}.corp.example`;
    const held = randomIpv4();
    await createMailServer(t, holder.id, { heloHostname: helo, addresses: [held, '203.0.113.64/28'] });

    const free = randomIpv4();
    const clash = await t.http
      .post(`/v1/organizations/${second.id}/mail-servers`)
      .set(bearer(t.keys.csr))
      .send({ heloHostname: helo.toUpperCase(), addresses: [free, held, '203.0.113.64/26'] })
      .expect(409);
    expect(clash.headers['content-type']).toContain(PROBLEM);
    expect(clash.body.detail).toBe(
      `${held}/32 (${helo}) already belongs to another organization, "${holder.name}"; ` +
        `203.0.113.64/26 (${helo}) overlaps 203.0.113.64/28, which belongs to another organization, "${holder.name}"`,
    );
    expect(clash.body.detail).not.toContain(free);
    expect(await t.prisma.mailServer.count({ where: { organizationId: second.id } })).toBe(0);
  });

  it('a cursor the API did not issue is a 400 naming cursor, on every list', async () => {
    const org = await createOrganization(t);
    for (const list of ['/v1/organizations', `/v1/organizations/${org.id}/mail-servers`, `/v1/organizations/${org.id}/domains`, '/v1/audit-events', '/v1/exceptions', '/v1/api-keys', '/v1/mail-servers']) {
      const response = await t.http.get(list).query({ cursor: 'bm90LWEtY3Vyc29y' }).set(bearer(t.keys.admin));
      expect(response.status, list).toBe(400);
      expect(response.headers['content-type']).toContain(PROBLEM);
      expect(response.body.errors, list).toEqual([{ field: 'cursor', message: 'is not one this API issued' }]);
    }
  });
});
