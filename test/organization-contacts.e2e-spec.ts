import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseStateReader } from './support/database-state.js';
import { auditTrail, bearer, createOrganization, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

/** An organization's technical contacts: the people its notifications are e-mailed to. */
describe('organizations: technical contacts', () => {
  let t: TestApp & { databaseUrl: string };

  beforeAll(async () => {
    // A database of its own: the refusals below prove that nothing at all was written.
    t = await startIsolatedTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores validated addresses trimmed, lowercased and once each; a PATCH replaces them, audited; the same list again changes nothing', async () => {
    const created = await t.http
      .post('/v1/organizations')
      .set(bearer(t.keys.csr))
      .send({ name: unique('Org'), technicalContacts: [' NOC@Customer.Example ', 'noc@customer.example', 'it.ops+helo@customer.example'] })
      .expect(201);
    expect(created.body.technicalContacts).toEqual(['noc@customer.example', 'it.ops+helo@customer.example']);
    expect((await t.http.get(`/v1/organizations/${created.body.id}`).set(bearer(t.keys.auditor)).expect(200)).body.technicalContacts).toEqual([
      'noc@customer.example',
      'it.ops+helo@customer.example',
    ]);

    const replaced = await t.http.patch(`/v1/organizations/${created.body.id}`).set(bearer(t.keys.csr)).send({ technicalContacts: ['postmaster@customer.example'] }).expect(200);
    expect(replaced.body.technicalContacts).toEqual(['postmaster@customer.example']);
    await t.http.patch(`/v1/organizations/${created.body.id}`).set(bearer(t.keys.csr)).send({ technicalContacts: ['Postmaster@customer.example'] }).expect(200);
    const trail = await auditTrail(t, created.body.id);
    expect(trail.map((event) => event.action)).toEqual(['organization.created', 'organization.updated']);
    expect(trail[1]).toMatchObject({
      before: { technicalContacts: ['noc@customer.example', 'it.ops+helo@customer.example'] },
      after: { technicalContacts: ['postmaster@customer.example'] },
    });

    // An organization made without any has none.
    expect((await createOrganization(t)) as unknown as { technicalContacts: string[] }).toMatchObject({ technicalContacts: [] });
  });

  it('refuses what is not a list of at most 20 e-mail addresses, naming the field and writing nothing', async () => {
    const org = await createOrganization(t);
    const state = await DatabaseStateReader.open(t.databaseUrl);
    try {
      const before = await state.read();
      for (const technicalContacts of [
        ['not-an-address'],
        ['noc@customer.example\r\nBcc: everyone@example.net'],
        ['Name <noc@customer.example>'],
        Array.from({ length: 21 }, (_, i) => `noc${i}@customer.example`),
        'noc@customer.example',
        [42],
        null,
      ]) {
        const refused = await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).send({ technicalContacts }).expect(400);
        expect(refused.headers['content-type']).toContain('application/problem+json');
        expect(JSON.stringify(refused.body)).toContain('technicalContacts');
        expect(JSON.stringify(refused.body)).not.toContain('everyone@example.net');
      }
      expect(await state.read()).toEqual(before);
    } finally {
      await state.close();
    }
  });
});
