import { describe, expect, inject, it } from 'vitest';
import { applyMigrations } from '@app/database';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { bearer, startTestApp } from './support/test-app.js';

const PROBLEM = 'application/problem+json';

// A file of its own: the request logger is process-wide, so this spec runs one app per process.
describe('when the database is gone', () => {
  it('answers 500 with the request id only, logs the cause, and reports not ready', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'gone');
    await applyMigrations(databaseUrl);
    const t = await startTestApp({ DATABASE_URL: databaseUrl });
    try {
      await t.http.get('/health/ready').expect(200);
      await dropDatabase(adminUrl, databaseUrl);
      const response = await t.http.get('/v1/organizations').set(bearer(t.keys.csr)).set('x-request-id', 'db-gone-1');
      expect(response.status).toBe(500);
      expect(response.headers['content-type']).toContain(PROBLEM);
      expect(response.body).toEqual({
        type: 'urn:helopass:problem:internal',
        title: 'Internal server error',
        status: 500,
        detail: expect.stringContaining('request id'),
        requestId: 'db-gone-1',
      });
      expect(response.text).not.toMatch(/database|prisma|postgres/i);
      const logged = t.logs.lines.filter((line) => line.includes('db-gone-1')).map((line) => JSON.parse(line));
      expect(logged.find((line) => line.level === 50)?.err?.message).toContain('does not exist');
      const ready = await t.http.get('/health/ready').expect(503);
      expect(ready.headers['content-type']).toContain(PROBLEM);
    } finally {
      await t.close().catch(() => undefined);
      await dropDatabase(adminUrl, databaseUrl);
    }
  });
});
