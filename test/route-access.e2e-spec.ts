import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotStore } from '@app/enforcement';
import type { Role } from '@app/domain';
import { ROLES } from '@app/domain';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { operationsOf, type OpenApiDocument } from './support/openapi-operations.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, createMailServer, createOrganization, randomIpv4, startTestApp, unique, type TestApp } from './support/test-app.js';

/** What one allowed call sends: a path naming a resource made for it, and a body valid for the route. */
interface Call {
  path: string;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
}

interface Context {
  t: TestApp;
  dns: TestDnsServer;
  /** Who will call: a customer's resources are made in its own organization. */
  role: Role;
}

const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const csr = (c: Context) => bearer(c.t.keys.csr);

const organization = async (c: Context) => (c.role === 'customer' ? c.t.keys.customer.organizationId! : (await createOrganization(c.t)).id);
const ownOrganization = (c: Context) => (c.role === 'customer' ? { organizationId: c.t.keys.customer.organizationId! } : {});
const mailServer = async (c: Context) => (await createMailServer(c.t, await organization(c))).id;
async function domain(c: Context): Promise<{ id: string; challenge: { recordName: string; recordValue: string } }> {
  const created = await c.t.http.post(`/v1/organizations/${await organization(c)}/domains`).set(csr(c)).send({ name: `${unique('access')}.example.com` }).expect(201);
  return created.body;
}
/** A domain with an override another admin asked for: the caller (an admin, another owner) decides it. */
async function overridden(c: Context): Promise<string> {
  const { id } = await domain(c);
  await c.t.http.post(`/v1/domains/${id}/override`).set(bearer(c.t.keys.admin2)).send({ justification: 'shown on a call', expiresAt: inDays(30) }).expect(200);
  return id;
}
/** An active exception (PTR-proven addresses). */
async function activeException(c: Context): Promise<string> {
  const server = await provenMailServer(c.t, c.dns, { addresses: [randomIpv4()], ...ownOrganization(c) });
  const granted = await c.t.http.post('/v1/exceptions').set(csr(c)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
  expect(granted.body.status).toBe('active');
  return granted.body.id;
}
/** An exception waiting for a second person (its addresses proven by SPF alone), asked for by another CSR. */
async function pendingException(c: Context): Promise<string> {
  const server = await provenMailServer(c.t, c.dns, { addresses: [randomIpv4()], proof: 'spf' });
  const granted = await c.t.http.post('/v1/exceptions').set(bearer(c.t.keys.csr2)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
  expect(granted.body.status).toBe('pending_approval');
  return granted.body.id;
}

/** An https URL whose host resolves to a public address: what the default target rules accept. */
function publicHookUrl(c: Context): string {
  const host = `${unique('hooks')}.example.net`;
  c.dns.a(host, ['93.184.215.14']);
  return `https://${host}/helopass`;
}
async function webhook(c: Context): Promise<string> {
  const created = await c.t.http.post('/v1/webhooks').set(bearer(c.t.keys.admin2)).send({ url: publicHookUrl(c), events: ['exception.expiring'] }).expect(201);
  return created.body.id;
}
/** A subscription with a delivery that failed (written as the worker would have logged it), ready to be replayed. */
async function failedDelivery(c: Context): Promise<{ id: string; deliveryId: string }> {
  const id = await webhook(c);
  const event = await c.t.prisma.notificationEvent.create({ data: { type: 'exception.expiring', occurredAt: new Date(), data: {}, dispatchedAt: new Date() } });
  const delivery = await c.t.prisma.notificationDelivery.create({
    data: { eventId: event.id, channel: 'webhook', subscriptionId: id, status: 'failed', attemptCount: 8, createdAt: new Date(), completedAt: new Date() },
  });
  return { id, deliveryId: delivery.id };
}

/**
 * Who may call what (DESIGN.md, "Routes"), and for each route a call that
 * must succeed for every role it admits, each on a resource of its own.
 * Every route the app registers must be listed here, so a new route cannot
 * ship without its access rule.
 */
const ROUTES: Record<string, { roles: Role[] | 'public'; call: (c: Context) => Promise<Call> }> = {
  'GET /health/live': { roles: 'public', call: async () => ({ path: '/health/live' }) },
  'GET /health/ready': { roles: 'public', call: async () => ({ path: '/health/ready' }) },
  'POST /v1/organizations': { roles: ['csr', 'admin'], call: async () => ({ path: '/v1/organizations', body: { name: unique('Org') } }) },
  'GET /v1/organizations': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async () => ({ path: '/v1/organizations' }) },
  'GET /v1/organizations/:id': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async (c) => ({ path: `/v1/organizations/${await organization(c)}` }) },
  'PATCH /v1/organizations/:id': {
    roles: ['csr', 'admin'],
    call: async (c) => ({ path: `/v1/organizations/${await organization(c)}`, body: { notes: 'called back' } }),
  },
  'POST /v1/organizations/:id/suspend': { roles: ['csr', 'admin'], call: async (c) => ({ path: `/v1/organizations/${await organization(c)}/suspend` }) },
  'POST /v1/organizations/:id/reactivate': {
    roles: ['csr', 'admin'],
    call: async (c) => {
      const id = await organization(c);
      await c.t.http.post(`/v1/organizations/${id}/suspend`).set(csr(c)).expect(200);
      return { path: `/v1/organizations/${id}/reactivate` };
    },
  },
  'POST /v1/organizations/:id/mail-servers': {
    roles: ['csr', 'admin', 'customer'],
    call: async (c) => ({
      path: `/v1/organizations/${await organization(c)}/mail-servers`,
      body: { heloHostname: `${unique('exch')}.corp.local`, addresses: [randomIpv4()] },
    }),
  },
  'GET /v1/organizations/:id/mail-servers': {
    roles: ['csr', 'admin', 'auditor', 'customer'],
    call: async (c) => ({ path: `/v1/organizations/${await organization(c)}/mail-servers` }),
  },
  'GET /v1/mail-servers': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async () => ({ path: '/v1/mail-servers', query: { address: '192.0.2.1' } }) },
  'GET /v1/mail-servers/:id': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async (c) => ({ path: `/v1/mail-servers/${await mailServer(c)}` }) },
  'PATCH /v1/mail-servers/:id': {
    roles: ['csr', 'admin'],
    call: async (c) => ({ path: `/v1/mail-servers/${await mailServer(c)}`, body: { description: 'the old Exchange box' } }),
  },
  'DELETE /v1/mail-servers/:id': { roles: ['csr', 'admin'], call: async (c) => ({ path: `/v1/mail-servers/${await mailServer(c)}` }) },
  'POST /v1/organizations/:id/domains': {
    roles: ['csr', 'admin', 'customer'],
    call: async (c) => ({ path: `/v1/organizations/${await organization(c)}/domains`, body: { name: `${unique('claim')}.example.com` } }),
  },
  'GET /v1/organizations/:id/domains': {
    roles: ['csr', 'admin', 'auditor', 'customer'],
    call: async (c) => ({ path: `/v1/organizations/${await organization(c)}/domains` }),
  },
  'GET /v1/domains/:id': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async (c) => ({ path: `/v1/domains/${(await domain(c)).id}` }) },
  'POST /v1/domains/:id/verify': {
    roles: ['csr', 'admin', 'customer'],
    call: async (c) => {
      const { id, challenge } = await domain(c);
      c.dns.txt(challenge.recordName, [challenge.recordValue]);
      return { path: `/v1/domains/${id}/verify` };
    },
  },
  'POST /v1/domains/:id/challenge': { roles: ['csr', 'admin', 'customer'], call: async (c) => ({ path: `/v1/domains/${(await domain(c)).id}/challenge` }) },
  'POST /v1/domains/:id/override': {
    roles: ['admin'],
    call: async (c) => ({ path: `/v1/domains/${(await domain(c)).id}/override`, body: { justification: 'shown on a call', expiresAt: inDays(30) } }),
  },
  'POST /v1/domains/:id/override/approve': { roles: ['admin'], call: async (c) => ({ path: `/v1/domains/${await overridden(c)}/override/approve` }) },
  'POST /v1/domains/:id/override/reject': {
    roles: ['admin'],
    call: async (c) => ({ path: `/v1/domains/${await overridden(c)}/override/reject`, body: { reason: 'not enough' } }),
  },
  'GET /v1/domains/:id/attempts': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async (c) => ({ path: `/v1/domains/${(await domain(c)).id}/attempts` }) },
  'GET /v1/mail-servers/:id/ownership': { roles: ['csr', 'admin', 'customer'], call: async (c) => ({ path: `/v1/mail-servers/${await mailServer(c)}/ownership` }) },
  'POST /v1/mail-servers/:id/ownership/check': {
    roles: ['csr', 'admin', 'customer'],
    call: async (c) => ({ path: `/v1/mail-servers/${await mailServer(c)}/ownership/check` }),
  },
  'GET /v1/diagnostics/helo': {
    roles: ['csr', 'admin', 'customer'],
    call: async (c) => {
      // A customer diagnoses its own servers only: the server is made in the caller's organization.
      const server = await createMailServer(c.t, await organization(c));
      return { path: '/v1/diagnostics/helo', query: { helo: server.heloHostname, ip: server.addresses[0]!.split('/')[0]! } };
    },
  },
  'POST /v1/exceptions': {
    roles: ['csr', 'admin', 'customer'],
    call: async (c) => {
      const server = await provenMailServer(c.t, c.dns, { addresses: [randomIpv4()], ...ownOrganization(c) });
      return { path: '/v1/exceptions', body: { mailServerId: server.mailServerId, reason: 'fix pending' } };
    },
  },
  'POST /v1/exceptions/preview': {
    roles: ['csr', 'admin', 'customer'],
    call: async (c) => {
      const server = await provenMailServer(c.t, c.dns, { addresses: [randomIpv4()], ...ownOrganization(c) });
      return { path: '/v1/exceptions/preview', body: { mailServerId: server.mailServerId } };
    },
  },
  'GET /v1/exceptions': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async () => ({ path: '/v1/exceptions', query: { status: 'active' } }) },
  'GET /v1/exceptions/:id': { roles: ['csr', 'admin', 'auditor', 'customer'], call: async (c) => ({ path: `/v1/exceptions/${await activeException(c)}` }) },
  'GET /v1/exceptions/:id/history': {
    roles: ['csr', 'admin', 'auditor', 'customer'],
    call: async (c) => ({ path: `/v1/exceptions/${await activeException(c)}/history` }),
  },
  'POST /v1/exceptions/:id/approve': { roles: ['csr', 'admin'], call: async (c) => ({ path: `/v1/exceptions/${await pendingException(c)}/approve` }) },
  'POST /v1/exceptions/:id/reject': {
    roles: ['csr', 'admin'],
    call: async (c) => ({ path: `/v1/exceptions/${await pendingException(c)}/reject`, body: { reason: 'not ours' } }),
  },
  'POST /v1/exceptions/:id/revoke': {
    roles: ['csr', 'admin'],
    call: async (c) => ({ path: `/v1/exceptions/${await activeException(c)}/revoke`, body: { reason: 'fixed' } }),
  },
  'POST /v1/exceptions/:id/renew': {
    roles: ['csr', 'admin'],
    call: async (c) => ({ path: `/v1/exceptions/${await activeException(c)}/renew`, body: { expiresAt: inDays(95) } }),
  },
  'POST /v1/exceptions/bulk-decisions': {
    roles: ['csr', 'admin'],
    call: async (c) => ({ path: '/v1/exceptions/bulk-decisions', body: { ids: [await pendingException(c)], decision: 'approve' } }),
  },
  'POST /v1/exceptions/:id/keep': {
    roles: ['csr', 'admin'],
    call: async (c) => ({ path: `/v1/exceptions/${await activeException(c)}/keep`, body: { reason: 'the second site still needs it' } }),
  },
  'POST /v1/exceptions/:id/recheck': { roles: ['csr', 'admin'], call: async (c) => ({ path: `/v1/exceptions/${await activeException(c)}/recheck` }) },
  'GET /v1/allowlist': { roles: ['filter', 'auditor', 'admin'], call: async () => ({ path: '/v1/allowlist' }) },
  'GET /v1/allowlist.sig': { roles: ['filter', 'auditor', 'admin'], call: async () => ({ path: '/v1/allowlist.sig' }) },
  'GET /v1/allowlist/signing-key': { roles: ['filter', 'auditor', 'admin'], call: async () => ({ path: '/v1/allowlist/signing-key' }) },
  'GET /v1/allowlist/changes': { roles: ['filter', 'auditor', 'admin'], call: async (c) => ({
      path: '/v1/allowlist/changes',
      query: { since: String((await c.t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version) },
    }) },
  'GET /v1/allowlist/:rendering': { roles: ['filter', 'auditor', 'admin'], call: async () => ({ path: '/v1/allowlist/postfix-cidr' }) },
  'POST /v1/api-keys': {
    roles: ['admin', 'csr'],
    // A customer key: the one kind a csr may mint too.
    call: async (c) => ({
      path: '/v1/api-keys',
      body: { name: unique('key'), role: 'customer', organizationId: await organization(c), owner: `${unique('it')}@customer.example` },
    }),
  },
  'GET /v1/api-keys': { roles: ['admin'], call: async () => ({ path: '/v1/api-keys' }) },
  'DELETE /v1/api-keys/:id': {
    roles: ['admin', 'csr'],
    // A customer key: the one kind a csr may revoke too.
    call: async (c) => {
      const body = { name: unique('spare'), role: 'customer', organizationId: await organization(c), owner: `${unique('it')}@customer.example` };
      const created = await c.t.http.post('/v1/api-keys').set(bearer(c.t.keys.admin2)).send(body).expect(201);
      return { path: `/v1/api-keys/${created.body.id}` };
    },
  },
  'POST /v1/webhooks': { roles: ['admin'], call: async (c) => ({ path: '/v1/webhooks', body: { url: publicHookUrl(c), events: ['exception.expiring', 'domain.lapsed'] } }) },
  'GET /v1/webhooks': { roles: ['admin'], call: async () => ({ path: '/v1/webhooks' }) },
  'GET /v1/webhooks/:id': { roles: ['admin'], call: async (c) => ({ path: `/v1/webhooks/${await webhook(c)}` }) },
  'DELETE /v1/webhooks/:id': { roles: ['admin'], call: async (c) => ({ path: `/v1/webhooks/${await webhook(c)}` }) },
  'GET /v1/webhooks/:id/deliveries': { roles: ['admin'], call: async (c) => ({ path: `/v1/webhooks/${await webhook(c)}/deliveries` }) },
  'POST /v1/webhooks/:id/deliveries/:deliveryId/replay': {
    roles: ['admin'],
    call: async (c) => {
      const { id, deliveryId } = await failedDelivery(c);
      return { path: `/v1/webhooks/${id}/deliveries/${deliveryId}/replay` };
    },
  },
  'GET /v1/reports/exceptions': {
    roles: ['auditor', 'admin'],
    call: async () => ({ path: '/v1/reports/exceptions', query: { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' } }),
  },
  'GET /v1/reports/stale-exceptions': { roles: ['csr', 'auditor', 'admin'], call: async () => ({ path: '/v1/reports/stale-exceptions', query: { unusedDays: '45' } }) },
  'GET /v1/audit-events': { roles: ['auditor', 'admin'], call: async () => ({ path: '/v1/audit-events' }) },
  'GET /v1/audit-events/verify': { roles: ['auditor', 'admin'], call: async () => ({ path: '/v1/audit-events/verify' }) },
  'GET /v1/audit-events/state': {
    roles: ['auditor', 'admin'],
    call: async (c) => ({ path: '/v1/audit-events/state', query: { entityType: 'organization', entityId: await organization(c), asOf: '2100-01-01T00:00:00Z' } }),
  },
  'GET /v1/audit-events/export': { roles: ['auditor', 'admin'], call: async () => ({ path: '/v1/audit-events/export', query: { action: 'api_key.' } }) },
  'GET /v1/organizations/:id/history': { roles: ['csr', 'auditor', 'admin', 'customer'], call: async (c) => ({ path: `/v1/organizations/${await organization(c)}/history` }) },
  'GET /v1/mail-servers/:id/history': { roles: ['csr', 'auditor', 'admin', 'customer'], call: async (c) => ({ path: `/v1/mail-servers/${await mailServer(c)}/history` }) },
  'GET /v1/domains/:id/history': { roles: ['csr', 'auditor', 'admin', 'customer'], call: async (c) => ({ path: `/v1/domains/${(await domain(c)).id}/history` }) },
  'POST /v1/audit-events/checkpoints': { roles: ['admin'], call: async () => ({ path: '/v1/audit-events/checkpoints' }) },
  'GET /v1/audit-events/checkpoints': { roles: ['auditor', 'admin'], call: async () => ({ path: '/v1/audit-events/checkpoints' }) },
  'GET /v1/public/helo-check': { roles: 'public', call: async () => ({ path: '/v1/public/helo-check', query: { helo: 'exch01.corp.local', ip: '192.0.2.10' } }) },
  // Sign-in authenticates the key it is given (in the body): no Authorization header.
  'POST /v1/console/session': { roles: 'public', call: async (c) => ({ path: '/v1/console/session', body: { key: c.t.keys.csr.key } }) },
  'GET /v1/console/session': { roles: ['admin', 'csr', 'auditor', 'customer'], call: async () => ({ path: '/v1/console/session' }) },
  'DELETE /v1/console/session': { roles: ['admin', 'csr', 'auditor', 'customer'], call: async () => ({ path: '/v1/console/session' }) },
};

/** Routes open to customers that name no resource: they answer the customer's own organization only (test/customer.e2e-spec.ts). */
const CUSTOMER_LISTS = new Set(['GET /v1/organizations', 'GET /v1/mail-servers', 'GET /v1/exceptions']);
// Routes about the caller itself (its console session): no organization's resource to keep a customer out of.
const CUSTOMER_OWN = new Set(['GET /v1/console/session', 'DELETE /v1/console/session']);

// Swagger UI and its assets, and HEAD twins Fastify adds for every GET.
const DOCS = /^\/docs(\/|$)/;
// The console's page and files and the self-check page: no data, served to anyone (console-pages spec).
const CONSOLE_PAGES = /^\/(console|check)(\/assets\/:name)?$/;
const PLACEHOLDER_ID = '00000000-0000-4000-8000-000000000000';

describe('every route is authenticated and role-checked', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  /** `METHOD /path/:id` → the success status the route documents, and the roles it declares. */
  let documented: Map<string, { status: number; roles: string[] }>;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
    const document = (await t.http.get('/docs/json').expect(200)).body as OpenApiDocument;
    documented = new Map(
      operationsOf(document).map((operation) => [
        `${operation.method.toUpperCase()} ${operation.path.replace(/\{(\w+)\}/g, ':$1')}`,
        { status: operation.successStatus, roles: operation.roles },
      ]),
    );
    // The feed answers 503 until its first snapshot is in memory (loaded as the app starts).
    expect(t.app.get(SnapshotStore).current()).toBeDefined();
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  it('has an access rule for every registered route, and a route for every rule; the document declares the same roles', () => {
    const api = t.routes.filter((route) => {
      const [method, url] = route.split(' ') as [string, string];
      return method !== 'HEAD' && !DOCS.test(url) && !CONSOLE_PAGES.test(url);
    });
    expect([...new Set(api)].sort()).toEqual(Object.keys(ROUTES).sort());
    for (const [name, { roles }] of Object.entries(ROUTES)) {
      expect(documented.get(name)?.roles ?? [], name).toEqual(roles === 'public' ? [] : roles);
    }
  });

  it.each(Object.entries(ROUTES))('%s: 401 without a key, 403 for other roles, the documented success for allowed roles', async (name, { roles, call }) => {
    const [method, template] = name.split(' ') as [string, string];
    const verb = method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
    const success = documented.get(name)?.status;
    expect(success, `${name} documents a success status`).toBeDefined();
    const send = (made: Call, headers: Record<string, string>) => {
      const pending = t.http[verb](made.path).query(made.query ?? {}).set(headers);
      return made.body === undefined ? pending : pending.send(made.body);
    };
    const placeholder: Call = { path: template.replace(/:id/g, PLACEHOLDER_ID).replace(':rendering', 'postfix-cidr') };
    if (roles === 'public') {
      expect((await send(await call({ t, dns, role: 'admin' }), {})).status).toBe(success);
      return;
    }
    const anonymous = await send(placeholder, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    for (const role of ROLES) {
      const caller = t.keys[role];
      if (roles.includes(role)) {
        const made = await call({ t, dns, role });
        const response = await send(made, bearer(caller));
        expect(response.status, `${role} should succeed at ${name}: ${String(response.text ?? '').slice(0, 300)}`).toBe(success);
        if (role === 'customer' && !CUSTOMER_LISTS.has(name) && !CUSTOMER_OWN.has(name)) {
          // Another organization's resource does not exist for a customer: 404, never 403.
          const foreign = await send(await call({ t, dns, role: 'csr' }), bearer(caller));
          expect(foreign.status, `a customer must not reach another organization's resource at ${name}`).toBe(404);
          expect(foreign.headers['content-type']).toContain('application/problem+json');
        }
      } else {
        const response = await send(placeholder, bearer(caller));
        expect(response.status, `${role} must be refused ${name}`).toBe(403);
        expect(response.body.type).toContain('forbidden');
      }
    }
  });

  it('serves the API docs without a key', async () => {
    await t.http.get('/docs/json').expect(200);
    const ui = await t.http.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });
});
