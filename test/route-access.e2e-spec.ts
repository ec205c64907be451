import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '@app/domain';
import { ROLES } from '@app/domain';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Who may call what (DESIGN.md, "Routes"). Every route the app registers must
 * be listed here, so a new route cannot ship without its access rule.
 */
const ACCESS: Record<string, Role[] | 'public'> = {
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'POST /v1/organizations': ['csr', 'admin'],
  'GET /v1/organizations': ['csr', 'admin', 'auditor'],
  'GET /v1/organizations/:id': ['csr', 'admin', 'auditor'],
  'PATCH /v1/organizations/:id': ['csr', 'admin'],
  'POST /v1/organizations/:id/suspend': ['csr', 'admin'],
  'POST /v1/organizations/:id/reactivate': ['csr', 'admin'],
  'POST /v1/organizations/:id/mail-servers': ['csr', 'admin'],
  'GET /v1/organizations/:id/mail-servers': ['csr', 'admin', 'auditor'],
  'GET /v1/mail-servers': ['csr', 'admin', 'auditor'],
  'GET /v1/mail-servers/:id': ['csr', 'admin', 'auditor'],
  'PATCH /v1/mail-servers/:id': ['csr', 'admin'],
  'DELETE /v1/mail-servers/:id': ['csr', 'admin'],
  'POST /v1/organizations/:id/domains': ['csr', 'admin'],
  'GET /v1/organizations/:id/domains': ['csr', 'admin', 'auditor'],
  'GET /v1/domains/:id': ['csr', 'admin', 'auditor'],
  'POST /v1/domains/:id/verify': ['csr', 'admin'],
  'POST /v1/domains/:id/challenge': ['csr', 'admin'],
  'POST /v1/domains/:id/override': ['admin'],
  'POST /v1/domains/:id/override/approve': ['admin'],
  'POST /v1/domains/:id/override/reject': ['admin'],
  'GET /v1/domains/:id/attempts': ['csr', 'admin', 'auditor'],
  'GET /v1/mail-servers/:id/ownership': ['csr', 'admin'],
  'POST /v1/mail-servers/:id/ownership/check': ['csr', 'admin'],
  'GET /v1/diagnostics/helo': ['csr', 'admin'],
  'POST /v1/exceptions': ['csr', 'admin'],
  'GET /v1/exceptions': ['csr', 'admin', 'auditor'],
  'GET /v1/exceptions/:id': ['csr', 'admin', 'auditor'],
  'GET /v1/exceptions/:id/history': ['csr', 'admin', 'auditor'],
  'POST /v1/exceptions/:id/approve': ['csr', 'admin'],
  'POST /v1/exceptions/:id/reject': ['csr', 'admin'],
  'POST /v1/exceptions/:id/revoke': ['csr', 'admin'],
  'POST /v1/exceptions/:id/renew': ['csr', 'admin'],
  'GET /v1/allowlist': ['filter', 'auditor', 'admin'],
  'GET /v1/allowlist.sig': ['filter', 'auditor', 'admin'],
  'GET /v1/allowlist/signing-key': ['filter', 'auditor', 'admin'],
  'GET /v1/allowlist/:rendering': ['filter', 'auditor', 'admin'],
  'POST /v1/api-keys': ['admin'],
  'GET /v1/api-keys': ['admin'],
  'DELETE /v1/api-keys/:id': ['admin'],
  'GET /v1/audit-events': ['auditor', 'admin'],
  'GET /v1/audit-events/verify': ['auditor', 'admin'],
};

// Swagger UI and its assets, and HEAD twins Fastify adds for every GET.
const DOCS = /^\/docs(\/|$)/;

describe('every route is authenticated and role-checked', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('has an access rule for every registered route, and a route for every rule', () => {
    const api = t.routes.filter((route) => {
      const [method, url] = route.split(' ') as [string, string];
      return method !== 'HEAD' && !DOCS.test(url);
    });
    expect([...new Set(api)].sort()).toEqual(Object.keys(ACCESS).sort());
  });

  it.each(Object.entries(ACCESS))('%s: 401 without a key, 403 for other roles, allowed roles pass', async (name, rule) => {
    const [method, path] = name.split(' ') as [string, string];
    const url = path.replace(/:id/g, '00000000-0000-4000-8000-000000000000').replace(':rendering', 'postfix-cidr');
    const verb = method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
    const call = (headers: Record<string, string>) => {
      const pending = t.http[verb](url).set(headers);
      return method === 'POST' || method === 'PATCH' ? pending.send({}) : pending;
    };
    if (rule === 'public') {
      expect((await call({})).status).toBe(200);
      return;
    }
    const anonymous = await call({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    for (const role of ROLES) {
      const response = await call({ authorization: `Bearer ${t.keys[role].key}` });
      if (rule.includes(role)) {
        expect([401, 403], `${role} should pass ${name}`).not.toContain(response.status);
      } else {
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
