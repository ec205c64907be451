import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { inject } from 'vitest';
import { ApiKeysService } from '@app/access';
import { loadConfig } from '@app/config';
import { PrismaService } from '@app/database';
import type { Clock, Role } from '@app/domain';
import { createApp } from '../../apps/api/src/bootstrap.js';
import { createScratchDatabase, dropDatabase, migrateAsOwner, type RuntimeRole } from './databases.js';

/** Collects the app's JSON log lines so tests can read what was logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
    done();
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestKey {
  id: string;
  key: string;
  role: Role;
  name: string;
  /** The person behind the key (null for the filter key). */
  owner: string | null;
  /** The organization a customer key is bound to (null for other roles). */
  organizationId: string | null;
}

export interface TestApp {
  app: NestFastifyApplication;
  http: ReturnType<typeof request>;
  /**
   * One key per role, each of another person, a second admin and csr (other
   * persons again), and `adminAgain`: a second key of the same person as
   * `admin`, which four eyes must treat as `admin` itself.
   */
  keys: { admin: TestKey; admin2: TestKey; adminAgain: TestKey; csr: TestKey; csr2: TestKey; auditor: TestKey; filter: TestKey; customer: TestKey };
  logs: LogCapture;
  prisma: PrismaService;
  /** `METHOD /path` of every route the HTTP server registered. */
  routes: string[];
  close(): Promise<void>;
}

/**
 * Specs fire many requests with the same keys from one address in a moment;
 * the suite's own traffic must not meet the limits (rate-limit specs set small ones).
 */
const GENEROUS_RATE_LIMITS = {
  // Specs share one working directory: none keeps a snapshot on disk unless it names its own directory.
  SNAPSHOT_DIR: 'off',
  RATE_LIMIT_PER_MINUTE: '1000000',
  RATE_LIMIT_FEED_PER_MINUTE: '1000000',
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000000',
};

export const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

/**
 * The real HTTP app (same bootstrap as main.ts) on the run's database, with
 * one fresh API key per role.
 */
export async function startTestApp(env: Record<string, string> = {}, clock?: Clock): Promise<TestApp> {
  const config = loadConfig({ DATABASE_URL: inject('databaseUrl'), LOG_LEVEL: 'info', ...GENEROUS_RATE_LIMITS, ...env });
  const logs = new LogCapture();
  const routes: string[] = [];
  const app = await createApp(config, {
    logStream: logs,
    clock,
    onRoute: (method, url) => routes.push(`${method} ${url}`),
  });
  const apiKeys = app.get(ApiKeysService);
  const system = { id: null, name: 'system:test', role: 'system' as const, owner: null };
  const mint = async (role: Role, label: string, owner: string | null = `${unique(label)}@example.test`, organizationId?: string): Promise<TestKey> => {
    const created = await apiKeys.create({ name: unique(label), role, owner, organizationId }, system);
    return { id: created.id, key: created.key, role, name: created.name, owner: created.owner, organizationId: created.organizationId };
  };
  // The customer key's own organization (made directly: the fixture, not what a test checks).
  const customerOrganization = await app.get(PrismaService).organization.create({ data: { name: unique('Customer Org') } });
  const admin = await mint('admin', 'admin');
  const keys = {
    admin,
    admin2: await mint('admin', 'admin2'),
    // The same person as `admin`, the owner spelled differently: one person all the same.
    adminAgain: await mint('admin', 'admin-again', admin.owner!.toUpperCase()),
    csr: await mint('csr', 'csr'),
    csr2: await mint('csr', 'csr2'),
    auditor: await mint('auditor', 'auditor'),
    filter: await mint('filter', 'filter', null),
    // The IT staff of one customer: bound to its organization.
    customer: await mint('customer', 'customer', undefined, customerOrganization.id),
  };
  return {
    app,
    http: request(app.getHttpServer()),
    keys,
    logs,
    prisma: app.get(PrismaService),
    routes,
    close: () => app.close(),
  };
}

export const bearer = (key: TestKey) => ({ authorization: `Bearer ${key.key}` });

/** A random address in 198.18.0.0/15 (benchmarking range), as a /32. */
export function randomIpv4(): string {
  const byte = () => Math.floor(Math.random() * 256);
  return `198.${18 + Math.floor(Math.random() * 2)}.${byte()}.${byte()}`;
}

export async function createOrganization(t: TestApp, body: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
  const response = await t.http
    .post('/v1/organizations')
    .set(bearer(t.keys.csr))
    .send({ name: unique('Org'), ...body })
    .expect(201);
  return response.body as { id: string; name: string };
}

export async function createMailServer(
  t: TestApp,
  organizationId: string,
  body: Record<string, unknown> = {},
): Promise<{ id: string; heloHostname: string; addresses: string[] }> {
  const response = await t.http
    .post(`/v1/organizations/${organizationId}/mail-servers`)
    .set(bearer(t.keys.csr))
    .send({ heloHostname: `${unique('exch')}.corp.local`, addresses: [randomIpv4()], ...body })
    .expect(201);
  return response.body as { id: string; heloHostname: string; addresses: string[] };
}

/** Audit events about one entity, oldest first. */
export async function auditTrail(t: TestApp, entityId: string): Promise<Array<Record<string, any>>> {
  const response = await t.http
    .get('/v1/audit-events')
    .query({ entityId, limit: 200 })
    .set(bearer(t.keys.auditor))
    .expect(200);
  return (response.body.items as Array<Record<string, any>>).reverse();
}

/**
 * Like startTestApp, on a database of its own (migrated, dropped on close):
 * for specs that move the clock and sweep "everything due", which must not
 * touch what other specs are doing in the shared database.
 */
export async function startIsolatedTestApp(
  env: Record<string, string> = {},
  clock?: Clock,
): Promise<TestApp & { databaseUrl: string; ownerUrl: string }> {
  const adminUrl = inject('adminUrl');
  const ownerUrl = await createScratchDatabase(adminUrl, 'own');
  try {
    const databaseUrl = await migrateAsOwner(ownerUrl, JSON.parse(inject('runtimeRole')) as RuntimeRole);
    const t = await startTestApp({ ...env, DATABASE_URL: databaseUrl }, clock);
    return {
      ...t,
      databaseUrl,
      ownerUrl,
      close: async () => {
        await t.close();
        await dropDatabase(adminUrl, ownerUrl);
      },
    };
  } catch (error) {
    await dropDatabase(adminUrl, ownerUrl);
    throw error;
  }
}
