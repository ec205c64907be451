import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { validate } from '@readme/openapi-parser';
import { applyMigrations } from '@app/database';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { CANARY_NAME, startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { startAppOnTestDns, stopAppOnTestDns } from './support/app-on-test-dns.js';

describe('health', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  beforeAll(async () => ({ t, dns } = await startAppOnTestDns()));
  afterAll(() => stopAppOnTestDns(t, dns));

  it('is live and ready when the database answers and every migration is applied, its resolver found the canary', async () => {
    expect((await t.http.get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    expect((await t.http.get('/health/ready').expect(200)).body).toEqual({
      status: 'ready',
      database: 'up',
      migrations: 'applied',
      allowlist: {
        version: expect.stringMatching(/^\d+$/),
        staleSince: null,
        stale: false,
        source: 'database',
        asOf: expect.any(String),
        staleForSeconds: 0,
        writtenToDiskAt: null,
      },
      dns: {
        status: 'ok',
        canary: CANARY_NAME,
        resolvers: [{ resolver: dns.address, status: 'ok', detail: `found the canary ${CANARY_NAME} (198.41.0.4)`, checkedAt: expect.any(String) }],
      },
    });
  });

  it('reports a resolver that answers NXDOMAIN for everything, stays ready (200), and asks it once, not per probe', async () => {
    const broken = await startTestDnsServer({ canary: false });
    const own = await startTestApp({ DNS_RESOLVERS: `${dns.address},${broken.address}`, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
    try {
      const ready = (await own.http.get('/health/ready').expect(200)).body;
      expect(ready.status).toBe('ready');
      expect(ready.dns).toEqual({
        status: 'broken',
        canary: CANARY_NAME,
        resolvers: [
          expect.objectContaining({ resolver: dns.address, status: 'ok' }),
          {
            resolver: broken.address,
            status: 'broken',
            detail: `answered NXDOMAIN for the canary ${CANARY_NAME}, a name that always exists`,
            checkedAt: expect.any(String),
          },
        ],
      });
      for (let i = 0; i < 5; i++) {
        await own.http.get('/health/ready').expect(200);
      }
      expect(broken.queries.filter((query) => query.name.toLowerCase() === CANARY_NAME)).toHaveLength(1);
    } finally {
      await own.close();
      await broken.stop();
    }
  });

  it('is not ready while a migration is not applied, and ready again once it is', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'unmigrated');
    try {
      await applyMigrations(databaseUrl);
      const own = await startTestApp({ DATABASE_URL: databaseUrl });
      try {
        await own.http.get('/health/ready').expect(200);
        // As if the newest migration had not run (an older binary's database, say).
        await own.prisma.$executeRawUnsafe(
          `UPDATE "_prisma_migrations" SET rolled_back_at = now()
           WHERE migration_name = (SELECT max(migration_name) FROM "_prisma_migrations")`,
        );
        const notReady = await own.http.get('/health/ready').expect(503);
        expect(notReady.headers['content-type']).toContain('application/problem+json');
        expect(notReady.body.detail).toContain('migration');
        await own.http.get('/health/live').expect(200);
      } finally {
        await own.close();
      }
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });
});

describe('OpenAPI', () => {
  let t: TestApp;
  let document: Record<string, any>;
  beforeAll(async () => {
    t = await startTestApp();
    document = (await t.http.get('/docs/json').expect(200)).body;
  });
  afterAll(async () => {
    await t.close();
  });

  it('is a valid OpenAPI 3 document', async () => {
    expect(document.openapi).toMatch(/^3\./);
    const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it('describes every route, with its roles, its DTOs and its error responses', () => {
    const operations = t.routes
      // The console's page and files are not API routes (they are left out of the document).
      .filter((route) => !route.startsWith('HEAD ') && !/ \/docs/.test(route) && !/ \/(console|check)(\/assets\/:name)?$/.test(route))
      .map((route) => {
        const [method, url] = route.split(' ') as [string, string];
        return { method: method.toLowerCase(), path: url.replace(/:(\w+)/g, '{$1}') };
      });
    expect(operations.length).toBeGreaterThan(15);
    for (const { method, path } of operations) {
      const operation = document.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      if (path.startsWith('/health')) {
        continue;
      }
      // Without a key: the console's sign-in (the key is in its body) and the public self-check.
      if ((method === 'post' && path === '/v1/console/session') || path === '/v1/public/helo-check') {
        expect(operation['x-roles'], `${method} ${path} roles`).toBeUndefined();
        expect(Object.keys(operation.responses).some((status) => status.startsWith('2')), `${method} ${path} success response`).toBe(true);
        continue;
      }
      expect(operation['x-roles'], `${method} ${path} roles`).toEqual(expect.arrayContaining([expect.any(String)]));
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403']));
      const success = Object.keys(operation.responses).find((status) => status.startsWith('2'));
      expect(success, `${method} ${path} success response`).toBeDefined();
    }
    expect(document.components.schemas.OrganizationResponseDto.properties).toHaveProperty('customerRef');
    expect(document.components.schemas.CreateMailServerDto.required).toEqual(
      expect.arrayContaining(['heloHostname', 'addresses']),
    );
    expect(document.components.schemas.ProblemResponseDto.properties).toHaveProperty('requestId');
    expect(document.paths['/v1/organizations'].post.responses['409']).toBeDefined();
  });
});
