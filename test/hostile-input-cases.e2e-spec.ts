import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '@app/domain';
import { RawHttpClient } from './support/raw-http.js';
import { auditTrail, bearer, createMailServer, createOrganization, startTestApp, unique, type TestApp } from './support/test-app.js';

const PROBLEM = 'application/problem+json';

/**
 * The rules the property test (hostile-input.e2e-spec.ts) holds the API to,
 * one example each: what a caller is told, and that nothing was written.
 */
describe('hostile input, case by case', () => {
  let t: TestApp;
  let raw: RawHttpClient;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    raw = new RawHttpClient('127.0.0.1', (t.app.getHttpServer().address() as AddressInfo).port);
  });
  afterAll(async () => {
    raw?.close();
    await t?.close();
  });

  const organizationsNamed = (name: string) => t.prisma.organization.count({ where: { name: { startsWith: name } } });

  it('refuses NUL, other control characters and lone surrogates in a name, naming the field, writing nothing', async () => {
    const name = unique('Ctrl');
    for (const [bad, message] of [
      [`${name}\u0000`, 'must not contain control characters'],
      [`${name}\u001b[31m`, 'must not contain control characters'],
      [`${name}\tTabbed`, 'must not contain control characters'],
      [`${name}\u0085`, 'must not contain control characters'],
      [`${name}\uD800`, 'must be well-formed Unicode (it holds a lone surrogate)'],
    ] as const) {
      const response = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name: bad }).expect(400);
      expect(response.headers['content-type']).toContain(PROBLEM);
      expect(response.body.errors).toEqual([{ field: 'name', message }]);
    }
    expect(await organizationsNamed(name)).toBe(0);
  });

  it('keeps tabs and line breaks in free text (notes, reasons) and refuses every other control character there', async () => {
    const notes = 'line one\n\tindented\r\nline three';
    const created = await createOrganization(t, { notes });
    expect((await t.http.get(`/v1/organizations/${created.id}`).set(bearer(t.keys.csr)).expect(200)).body.notes).toBe(notes);
    const refused = await t.http.patch(`/v1/organizations/${created.id}`).set(bearer(t.keys.csr)).send({ notes: 'bell\u0007', name: 'x\u0000' }).expect(400);
    expect(refused.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'notes', message: 'must not contain control characters other than tab and line breaks' },
        { field: 'name', message: 'must not contain control characters' },
      ]),
    );
    expect((await t.http.get(`/v1/organizations/${created.id}`).set(bearer(t.keys.csr)).expect(200)).body.notes).toBe(notes);
    expect((await auditTrail(t, created.id)).map((event) => event.action)).toEqual(['organization.created']);
  });

  it('holds strings inside arrays and the query string to the same rule', async () => {
    const organization = await createOrganization(t);
    const server = await t.http
      .post(`/v1/organizations/${organization.id}/mail-servers`)
      .set(bearer(t.keys.csr))
      .send({ heloHostname: 'exch01.corp.local', addresses: ['192.0.2.1', '192.0.2.2\u0000'] })
      .expect(400);
    expect(server.body.errors).toContainEqual({ field: 'addresses.1', message: 'must not contain control characters' });
    const query = await t.http.get('/v1/organizations').query({ q: 'a\u0000b' }).set(bearer(t.keys.csr)).expect(400);
    expect(query.body.errors).toEqual([{ field: 'q', message: 'must not contain control characters' }]);
    const asOf = await t.http.get('/v1/allowlist').query({ asOf: '2026-12-01T00:00:00Z\u0000' }).set(bearer(t.keys.auditor)).expect(400);
    expect(asOf.body.errors).toEqual([{ field: 'asOf', message: 'must not contain control characters' }]);
  });

  it('refuses null for a field that is optional but not nullable (the service never sees it)', async () => {
    const organization = await createOrganization(t);
    const server = await createMailServer(t, organization.id);
    for (const field of ['addresses', 'heloHostname']) {
      const response = await t.http.patch(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).send({ [field]: null }).expect(400);
      expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    }
    const renamed = await t.http.patch(`/v1/organizations/${organization.id}`).set(bearer(t.keys.csr)).send({ name: null }).expect(400);
    expect(renamed.body.errors.map((error: { field: string }) => error.field)).toContain('name');
    expect((await t.http.get(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).expect(200)).body).toMatchObject({ addresses: server.addresses });
  });

  it('refuses instants outside the years 0001–9999, without a time zone, or not on the calendar, naming the field', async () => {
    const organization = await createOrganization(t);
    const server = await createMailServer(t, organization.id);
    for (const expiresAt of ['+275760-09-13T00:00:00Z', '0000-01-01T00:00:00Z', '2027-02-30T00:00:00Z', '2027-01-01T00:00:00', 8.64e15]) {
      const response = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.id, reason: 'fix pending', expiresAt }).expect(400);
      expect(response.body.errors).toContainEqual({ field: 'expiresAt', message: expect.stringContaining('ISO-8601 date-time with a time zone') });
    }
    for (const from of ['-271821-04-20T00:00:00Z', '10000-01-01T00:00:00Z']) {
      const response = await t.http.get('/v1/audit-events').query({ from }).set(bearer(t.keys.auditor)).expect(400);
      expect(response.body.errors).toEqual([{ field: 'from', message: expect.stringContaining('between the years 0001 and 9999') }]);
    }
    expect(await t.prisma.exception.count({ where: { mailServerId: server.id } })).toBe(0);
  });

  it('answers a cursor that decodes to an out-of-range date or an odd shape as it answers any cursor it did not issue', async () => {
    const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const id = '5f0c6b8e-1d2a-4c3b-9e4f-a1b2c3d4e5f6';
    const reference = await t.http.get('/v1/organizations').query({ cursor: 'not-a-cursor' }).set(bearer(t.keys.csr));
    expect(reference.status).toBe(400);
    expect(reference.body.errors).toEqual([{ field: 'cursor', message: 'is not one this API issued' }]);
    for (const cursor of [
      base64url(['+275760-09-13T00:00:00.000Z', id]),
      base64url(['0000-01-01T00:00:00.000Z', id]),
      base64url(['0000-01-01', id]),
      base64url({ at: '2026-01-01T00:00:00.000Z', id }),
      base64url([['2026-01-01T00:00:00.000Z'], id]),
      `${encodeCursor({ at: new Date('2026-01-01T00:00:00.000Z'), id })}==`,
    ]) {
      for (const list of ['/v1/organizations', '/v1/audit-events', '/v1/exceptions', '/v1/api-keys', '/v1/mail-servers']) {
        const response = await t.http.get(list).query({ cursor }).set(bearer(t.keys.admin));
        expect(response.status, `${list} ${cursor}`).toBe(400);
        expect(response.body.errors).toEqual(reference.body.errors);
      }
    }
  });

  it('bounds numbers: a limit of 1e308, -0 or 1.5 is a 400, not a huge query', async () => {
    for (const limit of ['1e308', '-0', '1.5', 'NaN', '9'.repeat(400)]) {
      const response = await t.http.get('/v1/organizations').query({ limit }).set(bearer(t.keys.csr)).expect(400);
      expect(new Set(response.body.errors.map((error: { field: string }) => error.field))).toEqual(new Set(['limit']));
    }
  });

  it('refuses a body nested deeper than any the API takes with a 400, before anything walks it', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const response = await raw.send('POST', '/v1/exceptions', { ...bearer(t.keys.csr), 'content-type': 'application/json', 'idempotency-key': unique('deep') }, `{"reason":${deep}}`);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toContain(PROBLEM);
    expect(JSON.parse(response.text).errors).toEqual([{ field: 'body', message: 'is nested more than 16 levels deep' }]);
  });

  it('answers URLs the router or the HTTP parser refuses as problem+json, without echoing them', async () => {
    for (const [path, status] of [
      ['/v1/organizations/%ED%A0%80', 400],
      ['/v1/organizations/%', 400],
      [`/v1/organizations/${'a'.repeat(600)}`, 414],
      [`/v1/organizations?q=${'a'.repeat(20_000)}`, 431],
    ] as const) {
      const response = await raw.send('GET', path, bearer(t.keys.csr));
      expect(response.status, path).toBe(status);
      expect(response.headers['content-type']).toContain(PROBLEM);
      const problem = JSON.parse(response.text);
      expect(problem).toMatchObject({ status, type: expect.any(String), title: expect.any(String), requestId: expect.any(String) });
      expect(response.text).not.toContain(path.slice(18, 40));
    }
  });
});
