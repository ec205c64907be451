import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApp, unique, type TestApp } from './support/test-app.js';

const run = promisify(execFile);
const CLI = 'dist/apps/cli/src/main.js';

function cli(args: string[]) {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: inject('databaseUrl') } });
}

describe('command line: api-keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates a key printed as one JSON line that the API then accepts with its role', async () => {
    const { stdout } = await cli(['api-keys', 'create', '--name', 'rspamd edge', '--role', 'filter', '--expires-in', '90d', '--json']);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const created = JSON.parse(lines[0]!) as { id: string; key: string; role: string; owner: string | null };
    expect(Object.keys(created).sort()).toEqual(['id', 'key', 'owner', 'role']);
    expect(created).toMatchObject({ role: 'filter', owner: null });
    expect(created.key).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
    const days = (row.expiresAt!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);

    const admin = JSON.parse((await cli(['api-keys', 'create', '--name', 'ops', '--role', 'admin', '--owner', 'Ops.Lead@Example.com', '--json'])).stdout);
    expect(admin.owner).toBe('ops.lead@example.com');
    await t.http.get('/v1/api-keys').set({ authorization: `Bearer ${admin.key}` }).expect(200);
    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${created.key}` }).expect(403);

    const events = await t.prisma.auditEvent.findMany({ where: { entityId: created.id } });
    expect(events.map((event) => [event.action, event.actorName])).toEqual([['api_key.created', 'system:cli']]);
  });

  it('lists keys without secrets and revokes one', async () => {
    const created = JSON.parse((await cli(['api-keys', 'create', '--name', 'to revoke', '--role', 'csr', '--owner', 'rev@example.test', '--json'])).stdout);
    const listed = await cli(['api-keys', 'list', '--json']);
    const rows = listed.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.find((row) => row.id === created.id)).toMatchObject({ name: 'to revoke', role: 'csr', owner: 'rev@example.test', revokedAt: null });
    expect(listed.stdout).not.toContain(created.key);
    const text = await cli(['api-keys', 'list']);
    expect(text.stdout.split('\n').find((line) => line.startsWith(created.id))).toContain('rev@example.test');

    await t.http.get('/v1/organizations').set({ authorization: `Bearer ${created.key}` }).expect(200);
    const revoked = await cli(['api-keys', 'revoke', created.id]);
    expect(revoked.stdout).toContain(`revoked ${created.id}`);
    // Revoked in another process: this one hears of it through NOTIFY, within moments.
    await expect
      .poll(async () => (await t.http.get('/v1/organizations').set({ authorization: `Bearer ${created.key}` })).status, { timeout: 3000 })
      .toBe(401);
  });

  it('refuses bad arguments with a non-zero exit and a message', async () => {
    await expect(cli(['api-keys', 'create', '--name', 'x', '--role', 'root'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--role'),
    });
    const name = unique('refused');
    for (const role of ['admin', 'csr', 'auditor']) {
      await expect(cli(['api-keys', 'create', '--name', name, '--role', role])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('--owner is required'),
      });
    }
    await expect(cli(['api-keys', 'create', '--name', name, '--role', 'csr', '--owner', 'two words'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--owner must be an e-mail address or a directory handle'),
    });
    expect(await t.prisma.apiKey.count({ where: { name } })).toBe(0);
    await expect(cli(['api-keys', 'create', '--name', 'x', '--role', 'csr', '--owner', 'x@example.test', '--expires-in', 'soon'])).rejects.toMatchObject({
      stderr: expect.stringContaining('90d'),
    });
    await expect(cli(['api-keys', 'revoke', '00000000-0000-4000-8000-000000000000'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('not found'),
    });
  });
});
