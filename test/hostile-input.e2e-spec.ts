import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseStateReader, type DatabaseState } from './support/database-state.js';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { hostileBody, hostileHeaders, hostilePathValue, hostileQuery, type Targets } from './support/hostile-input.js';
import { fillPath, operationsOf, type OpenApiDocument, type Operation } from './support/openapi-operations.js';
import { provenMailServer } from './support/ownership.js';
import { RawHttpClient, type RawResponse } from './support/raw-http.js';
import { bearer, createMailServer, createOrganization, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

/**
 * Property-based tests over every write and every query the OpenAPI document
 * declares: whatever a client sends, the answer is never a 5xx, a refusal is
 * problem+json, and a refused request changes nothing (every table's row
 * count, the audit chain's length, head and validity).
 *
 * FC_SEED=<n> replays a run (the seed is printed with every failure);
 * FC_RUNS=<n> changes the total number of cases (default below).
 */
const TOTAL_RUNS = Number(process.env.FC_RUNS ?? 2500);
const SEED = process.env.FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FC_SEED);

/** Writes with a body are where the most can go wrong; they get the largest share of the cases. */
function weightOf(operation: Operation): number {
  if (operation.method === 'get') {
    return operation.parameters.some((parameter) => parameter.in === 'query') ? 2 : 1;
  }
  return operation.body === undefined ? 2 : 4;
}

/** `/v1/mail-servers/{id}/ownership`, `id` → `mail-servers`: the collection a path parameter names a member of. */
const collectionBefore = (path: string, parameter: string) => /\/([a-z-]+)\/\{\w+\}$/.exec(path.slice(0, path.indexOf(`{${parameter}}`) + parameter.length + 2))?.[1];

interface Case {
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | undefined;
}

describe('hostile input, on every route the API documents', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let client: RawHttpClient;
  let state: DatabaseStateReader;
  let operations: Operation[];
  let targets: Targets;
  let unknownNames: string[];

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '200', DNS_TRIES: '1' });
    await t.app.listen(0, '127.0.0.1');
    client = new RawHttpClient('127.0.0.1', (t.app.getHttpServer().address() as AddressInfo).port);
    state = await DatabaseStateReader.open(t.databaseUrl);
    const document = (await t.http.get('/docs/json').expect(200)).body as OpenApiDocument;
    operations = operationsOf(document).filter((operation) => operation.path.startsWith('/v1/'));
    unknownNames = [...new Set(operationsOf(document).flatMap((operation) => operation.parameters.filter((p) => p.in === 'query').map((p) => p.name)))];
    targets = await createTargets(t, dns);
  });
  afterAll(async () => {
    client?.close();
    await state?.close();
    await t?.close();
    await dns?.stop();
  });

  it('documents every route it serves, so the properties below reach all of them', async () => {
    const documented = new Set(operationsOf((await t.http.get('/docs/json').expect(200)).body).map((o) => `${o.method.toUpperCase()} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`));
    const served = t.routes.filter((route) => /^(GET|POST|PUT|PATCH|DELETE) \/v1\//.test(route));
    expect(served.length).toBeGreaterThan(30);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it('searches organization names for q literally: %, _ and \\ match only names that hold them', async () => {
    const suffix = unique('like');
    for (const name of [`Fifty% off ${suffix}`, `Under_score ${suffix}`, `Back\\slash ${suffix}`, `Plain ${suffix}`, `Plainer ${suffix}`]) {
      await createOrganization(t, { name });
    }
    const all: string[] = [];
    for (let cursor: string | null | undefined; cursor !== null; ) {
      const page = await t.http.get('/v1/organizations').query({ limit: 200, ...(cursor ? { cursor } : {}) }).set(bearer(t.keys.auditor)).expect(200);
      all.push(...page.body.items.map((item: { name: string }) => item.name));
      cursor = page.body.nextCursor;
    }
    for (const q of ['%', '_', '\\', '%%', `%${suffix}`]) {
      const found = await t.http.get('/v1/organizations').query({ q, limit: 200 }).set(bearer(t.keys.auditor)).expect(200);
      const names = found.body.items.map((item: { name: string }) => item.name).sort();
      expect(names, `q=${q}`).toEqual(all.filter((name) => name.toLowerCase().includes(q.toLowerCase())).sort());
    }
    const percent = await t.http.get('/v1/organizations').query({ q: '%' }).set(bearer(t.keys.auditor)).expect(200);
    expect(percent.body.items.map((item: { name: string }) => item.name)).toEqual([`Fifty% off ${suffix}`]);
  });

  it('never answers 5xx; refusals are problem+json and change nothing', { timeout: 300_000 }, async () => {
    const totalWeight = operations.reduce((sum, operation) => sum + weightOf(operation), 0);
    const failures: string[] = [];
    let cases = 0;
    let baseline = await state.read();
    for (const [index, operation] of operations.entries()) {
      const numRuns = Math.max(10, Math.round((TOTAL_RUNS * weightOf(operation)) / totalWeight));
      const check = async (request: Case) => {
        cases += 1;
        const response = await send(operation, request);
        const after = await state.read();
        expectSound(operation, request, response, baseline, after);
        baseline = after;
      };
      try {
        await fc.assert(fc.asyncProperty(caseFor(operation), check), { numRuns, seed: SEED + index, includeErrorInReport: true });
      } catch (error) {
        failures.push(`${operation.method.toUpperCase()} ${operation.path}: ${(error as Error).message}`);
        baseline = await state.read();
      }
    }
    const audit = await t.http.get('/v1/audit-events/verify').query({ mode: 'full' }).set(bearer(t.keys.admin)).expect(200);
    expect(audit.body).toMatchObject({ valid: true, checked: baseline.audit.count, lastEventId: baseline.audit.lastEventId });
    expect(failures, `FC_SEED=${SEED} reproduces this run`).toEqual([]);
    expect(cases).toBeGreaterThanOrEqual(TOTAL_RUNS * 0.9);
  });

  function caseFor(operation: Operation): fc.Arbitrary<Case> {
    const pathParameters = operation.parameters.filter((parameter) => parameter.in === 'path');
    const path = fc
      .tuple(...pathParameters.map((parameter) => hostilePathValue(parameter.schema, targets, collectionBefore(operation.path, parameter.name))))
      .map((values) => fillPath(operation.path, Object.fromEntries(pathParameters.map((parameter, i) => [parameter.name, values[i]!]))));
    const query = hostileQuery(operation.parameters, unknownNames, targets);
    const body: fc.Arbitrary<string | undefined> =
      operation.method === 'get'
        ? fc.constant(undefined)
        : operation.body === undefined
          ? fc.option(hostileBody({ type: 'object', properties: {} }, targets), { nil: undefined })
          : hostileBody(operation.body, targets);
    return fc.record({ path, query, headers: hostileHeaders(operation.parameters), body });
  }

  function send(operation: Operation, request: Case): Promise<RawResponse> {
    const headers: Record<string, string> = { ...request.headers, ...bearer(t.keys.admin) };
    if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    return client.send(operation.method, request.query === '' ? request.path : `${request.path}?${request.query}`, headers, request.body);
  }
});

/** The properties every answer must have; throws (with the request) when one does not hold. */
function expectSound(operation: Operation, request: Case, response: RawResponse, before: DatabaseState, after: DatabaseState): void {
  const what = `${operation.method.toUpperCase()} ${request.path}${request.query === '' ? '' : '?' + request.query} → ${response.status} ${response.text.slice(0, 300)}`;
  if (response.status >= 500) {
    throw new Error(`server error: ${what}`);
  }
  if (response.status === 429) {
    throw new Error(`rate-limited, so the case never reached the route (the test app's limits should be generous): ${what}`);
  }
  if (response.status >= 400) {
    if (!String(response.headers['content-type']).startsWith('application/problem+json')) {
      throw new Error(`refusal is not problem+json: ${what}`);
    }
    const problem = JSON.parse(response.text) as { status?: unknown; type?: unknown; title?: unknown };
    if (problem.status !== response.status || typeof problem.type !== 'string' || typeof problem.title !== 'string') {
      throw new Error(`refusal lacks status, type or title: ${what}`);
    }
  }
  if (response.status >= 400) {
    expect(after, `a refused request changed the database: ${what}`).toEqual(before);
  } else if (operation.method === 'get') {
    // A read may store what it derived (ownership evidence is computed on first demand), but it changes nothing anyone audits.
    expect(after.audit, `a read changed the audit trail: ${what}`).toEqual(before.audit);
  }
}

/**
 * Something of every kind for the generated requests to aim at: organizations,
 * domains (pending, verified, with an override another admin asked for), mail servers, exceptions (active and
 * waiting for approval), spare API keys, and cursors the API issued.
 */
async function createTargets(t: TestApp, dns: TestDnsServer): Promise<Targets> {
  const csr = bearer(t.keys.csr);
  const admin = bearer(t.keys.admin);
  const organization = await createOrganization(t, { customerRef: unique('C') });
  const suspended = await createOrganization(t);
  await t.http.post(`/v1/organizations/${suspended.id}/suspend`).set(csr).expect(200);
  const pendingDomain = await t.http.post(`/v1/organizations/${organization.id}/domains`).set(csr).send({ name: `${unique('pending')}.example.com` }).expect(201);
  const overridden = await t.http.post(`/v1/organizations/${organization.id}/domains`).set(csr).send({ name: `${unique('override')}.example.com` }).expect(201);
  const override = { justification: 'the customer proved it on a call', expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() };
  await t.http.post(`/v1/domains/${overridden.body.id}/override`).set(bearer(t.keys.admin2)).send(override).expect(200);
  const plainServer = await createMailServer(t, organization.id);
  const proven = await provenMailServer(t, dns);
  const active = await t.http.post('/v1/exceptions').set(csr).send({ mailServerId: proven.mailServerId, reason: 'fix pending' }).expect(201);
  const heloServer = await provenMailServer(t, dns);
  const pending = await t.http.post('/v1/exceptions').set(csr).send({ mailServerId: heloServer.mailServerId, scope: 'helo', reason: 'only the name is known' }).expect(201);
  expect(pending.body.status).toBe('pending_approval');
  const spareKeys = await Promise.all(
    ['filter', 'auditor'].map(async (role) => (await t.http.post('/v1/api-keys').set(admin).send({ name: unique('spare'), role, owner: `${unique('spare')}@example.com` }).expect(201)).body.id as string),
  );
  const cursors: string[] = [];
  for (const list of ['/v1/organizations', '/v1/audit-events', '/v1/api-keys', '/v1/exceptions', '/v1/mail-servers']) {
    const page = await t.http.get(list).query({ limit: 1 }).set(admin).expect(200);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    cursors.push(page.body.nextCursor);
  }
  // A webhook subscription (its host resolves to a public address, so the default rules accept it) and a delivery to replay.
  const hookHost = `${unique('hooks')}.example.net`;
  dns.a(hookHost, ['93.184.215.14']);
  const webhook = await t.http.post('/v1/webhooks').set(admin).send({ url: `https://${hookHost}/helopass`, events: ['domain.lapsed'] }).expect(201);
  const event = await t.prisma.notificationEvent.create({ data: { type: 'domain.lapsed', occurredAt: new Date(), data: {}, dispatchedAt: new Date() } });
  const delivery = await t.prisma.notificationDelivery.create({
    data: { eventId: event.id, channel: 'webhook', subscriptionId: webhook.body.id, status: 'failed', attemptCount: 1, createdAt: new Date(), completedAt: new Date() },
  });
  const idsIn = {
    webhooks: [webhook.body.id as string],
    deliveries: [delivery.id],
    organizations: [organization.id, suspended.id, proven.organizationId, heloServer.organizationId],
    domains: [pendingDomain.body.id, overridden.body.id, proven.domainId, heloServer.domainId],
    'mail-servers': [plainServer.id, proven.mailServerId, heloServer.mailServerId],
    exceptions: [active.body.id, pending.body.id],
    'api-keys': spareKeys,
  };
  return { ids: Object.values(idsIn).flat(), idsIn, cursors };
}
