import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditTrail,
  bearer,
  createMailServer,
  createOrganization,
  randomIpv4,
  startTestApp,
  unique,
  type TestApp,
} from './support/test-app.js';

describe('mail servers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores the HELO name and addresses normalized, and audits the creation', async () => {
    const org = await createOrganization(t);
    const label = unique('Exch');
    const response = await t.http
      .post(`/v1/organizations/${org.id}/mail-servers`)
      .set(bearer(t.keys.csr))
      .send({
        heloHostname: `${label}.Corp.LOCAL.`,
        addresses: ['192.0.2.10', '2001:DB8:0:0:0:0:0:0/64', '::ffff:198.51.100.7', '192.0.2.10/32'],
        description: 'Exchange in the basement',
      })
      .expect(201);
    expect(response.headers.etag).toBe('"1"');
    expect(response.body).toMatchObject({
      organizationId: org.id,
      heloHostname: `${label.toLowerCase()}.corp.local`,
      addresses: ['192.0.2.10/32', '2001:db8::/64', '198.51.100.7/32'],
      description: 'Exchange in the basement',
    });
    const [event] = await auditTrail(t, response.body.id);
    expect(event).toMatchObject({
      action: 'mail_server.created',
      organizationId: org.id,
      after: { heloHostname: `${label.toLowerCase()}.corp.local` },
    });
  });

  it('accepts single labels, underscores and IDN names as servers announce them', async () => {
    const org = await createOrganization(t);
    const single = unique('exch');
    const one = await createMailServer(t, org.id, { heloHostname: single.toUpperCase() });
    expect(one.heloHostname).toBe(single);
    const underscored = await createMailServer(t, org.id, { heloHostname: `${single}_01.corp.local` });
    expect(underscored.heloHostname).toBe(`${single}_01.corp.local`);
    const idn = await createMailServer(t, org.id, { heloHostname: `${single}.bücher.example` });
    expect(idn.heloHostname).toBe(`${single}.xn--bcher-kva.example`);
  });

  it.each([
    ['heloHostname', { heloHostname: 'exch..corp.local' }],
    ['heloHostname', { heloHostname: 'exch 01.corp.local' }],
    ['heloHostname', { heloHostname: '[192.0.2.1]' }],
    ['heloHostname', { heloHostname: 'a'.repeat(64) + '.example' }],
    ['addresses[1]', { addresses: ['192.0.2.1', '192.0.2.0/33'] }],
    ['addresses[0]', { addresses: ['192.0.2.1/24'] }],
    ['addresses[0]', { addresses: ['not-an-ip'] }],
    ['addresses[0]', { addresses: ['10.0.0.0/8'] }],
    ['addresses', { addresses: [] }],
  ])('refuses a bad %s with 400 naming it and writes nothing', async (field, body) => {
    const org = await createOrganization(t);
    const response = await t.http
      .post(`/v1/organizations/${org.id}/mail-servers`)
      .set(bearer(t.keys.csr))
      .send({ heloHostname: `${unique('exch')}.corp.local`, addresses: [randomIpv4()], ...body })
      .expect(400);
    expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    for (const value of Object.values(body).flat()) {
      if (typeof value === 'string' && value.length > 3) {
        expect(JSON.stringify(response.body)).not.toContain(value);
      }
    }
    expect(await t.prisma.mailServer.count({ where: { organizationId: org.id } })).toBe(0);
  });

  it('refuses a (HELO, address) that another organization holds, overlapping prefixes included (409)', async () => {
    const first = await createOrganization(t);
    const second = await createOrganization(t);
    const helo = `${unique('shared')}.corp.local`;
    await createMailServer(t, first.id, { heloHostname: helo, addresses: ['203.0.113.0/28'] });
    const before = await t.prisma.auditEvent.count();

    for (const address of ['203.0.113.5', '203.0.113.0/24', '203.0.113.8/29']) {
      const clash = await t.http
        .post(`/v1/organizations/${second.id}/mail-servers`)
        .set(bearer(t.keys.csr))
        .send({ heloHostname: helo.toUpperCase(), addresses: ['198.51.100.1', address] })
        .expect(409);
      expect(clash.body.detail).toContain('another organization');
    }
    expect(await t.prisma.mailServer.count({ where: { organizationId: second.id } })).toBe(0);
    expect(await t.prisma.auditEvent.count()).toBe(before);

    // A different HELO from the same addresses, or the same HELO elsewhere, is another server.
    await createMailServer(t, second.id, { heloHostname: `other.${helo}`, addresses: ['203.0.113.5'] });
    await createMailServer(t, second.id, { heloHostname: helo, addresses: ['203.0.113.16/28'] });
    // The same organization may describe the same pair twice (e.g. two roles of one host).
    await createMailServer(t, first.id, { heloHostname: helo, addresses: ['203.0.113.5'] });
  });

  it('lets the database refuse the clash even when two organizations race for it', async () => {
    const orgs = await Promise.all([createOrganization(t), createOrganization(t), createOrganization(t)]);
    const helo = `${unique('race')}.corp.local`;
    const results = await Promise.all(
      orgs.map((org) =>
        t.http
          .post(`/v1/organizations/${org.id}/mail-servers`)
          .set(bearer(t.keys.csr))
          .send({ heloHostname: helo, addresses: ['198.51.100.64/28'] }),
      ),
    );
    expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409]);
    expect(await t.prisma.mailServer.count({ where: { heloHostname: helo, deletedAt: null } })).toBe(1);
    // Refused by our check or, in the race, by the database: either way the answer names the address.
    for (const refused of results.filter((result) => result.status === 409)) {
      expect(refused.body.detail).toMatch(new RegExp(`^198\\.51\\.100\\.64/28 \\(${helo.replace(/\./g, '\\.')}\\) already belongs to another organization, "`));
    }
  });

  it('finds servers by HELO name and by an address their prefixes contain', async () => {
    const org = await createOrganization(t);
    const helo = `${unique('find')}.corp.local`;
    const wide = await createMailServer(t, org.id, { heloHostname: helo, addresses: ['2001:db8:77::/48'] });
    const narrow = await createMailServer(t, org.id, { addresses: ['2001:db8:77:1::25'] });

    const byAddress = await t.http
      .get('/v1/mail-servers')
      .query({ address: '2001:db8:77:1::25', organizationId: org.id })
      .set(bearer(t.keys.auditor))
      .expect(200);
    expect(byAddress.body.items.map((item: { id: string }) => item.id).sort()).toEqual([wide.id, narrow.id].sort());

    const outside = await t.http
      .get(`/v1/organizations/${org.id}/mail-servers`)
      .query({ address: '2001:db8:78::1' })
      .set(bearer(t.keys.csr))
      .expect(200);
    expect(outside.body.items).toEqual([]);

    const byHelo = await t.http
      .get('/v1/mail-servers')
      .query({ helo: `${helo.toUpperCase()}.` })
      .set(bearer(t.keys.csr))
      .expect(200);
    expect(byHelo.body.items.map((item: { id: string }) => item.id)).toEqual([wide.id]);

    const listed = await t.http
      .get(`/v1/organizations/${org.id}/mail-servers`)
      .query({ limit: 1 })
      .set(bearer(t.keys.csr))
      .expect(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([narrow.id]);
    const next = await t.http
      .get(`/v1/organizations/${org.id}/mail-servers`)
      .query({ limit: 1, cursor: listed.body.nextCursor })
      .set(bearer(t.keys.csr))
      .expect(200);
    expect(next.body.items.map((item: { id: string }) => item.id)).toEqual([wide.id]);
    expect(next.body.nextCursor).toBeNull();

    await t.http.get('/v1/mail-servers').query({ address: 'bogus' }).set(bearer(t.keys.csr)).expect(400);
    await t.http
      .get('/v1/organizations/00000000-0000-4000-8000-000000000000/mail-servers')
      .set(bearer(t.keys.csr))
      .expect(404);
  });

  it('updates the HELO name and addresses with If-Match, refusing a clash', async () => {
    const org = await createOrganization(t);
    const other = await createOrganization(t);
    const taken = await createMailServer(t, other.id, { addresses: ['198.51.100.200'] });
    const server = await createMailServer(t, org.id, { addresses: ['198.51.100.201'] });

    const updated = await t.http
      .patch(`/v1/mail-servers/${server.id}`)
      .set(bearer(t.keys.csr))
      .set('if-match', '"1"')
      .send({ addresses: ['198.51.100.201', '198.51.100.202'], description: 'two NICs' })
      .expect(200);
    expect(updated.body.addresses).toEqual(['198.51.100.201/32', '198.51.100.202/32']);
    expect(updated.headers.etag).toBe('"2"');

    await t.http
      .patch(`/v1/mail-servers/${server.id}`)
      .set(bearer(t.keys.csr))
      .set('if-match', '"1"')
      .send({ description: 'stale' })
      .expect(412);

    const clash = await t.http
      .patch(`/v1/mail-servers/${server.id}`)
      .set(bearer(t.keys.csr))
      .send({ heloHostname: taken.heloHostname, addresses: ['198.51.100.200'] })
      .expect(409);
    expect(clash.body.status).toBe(409);
    const current = await t.http.get(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).expect(200);
    expect(current.body).toMatchObject({ heloHostname: server.heloHostname, description: 'two NICs' });

    const trail = await auditTrail(t, server.id);
    expect(trail.map((event) => event.action)).toEqual(['mail_server.created', 'mail_server.updated']);
    expect(trail[1]).toMatchObject({
      before: { addresses: ['198.51.100.201/32'] },
      after: { addresses: ['198.51.100.201/32', '198.51.100.202/32'] },
    });
  });

  it('deletes softly: gone from the API, kept for history, audited, and the pair is free again', async () => {
    const org = await createOrganization(t);
    const other = await createOrganization(t);
    const server = await createMailServer(t, org.id, { addresses: ['198.51.100.99'] });
    await t.http.delete(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).set('if-match', '"7"').expect(412);
    await t.http.delete(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).expect(204);
    await t.http.get(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).expect(404);
    await t.http.delete(`/v1/mail-servers/${server.id}`).set(bearer(t.keys.csr)).expect(404);
    const row = await t.prisma.mailServer.findUnique({ where: { id: server.id } });
    expect(row?.deletedAt).toBeInstanceOf(Date);
    const trail = await auditTrail(t, server.id);
    expect(trail.at(-1)).toMatchObject({ action: 'mail_server.deleted', after: null, before: { id: server.id } });
    await createMailServer(t, other.id, { heloHostname: server.heloHostname, addresses: ['198.51.100.99'] });
  });
});
