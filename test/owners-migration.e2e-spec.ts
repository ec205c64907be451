import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { applyMigrations, readMigrations } from '@app/database';
import { apiKeyPrefix, canonicalJson, generateApiKeySecret, hashApiKeySecret, sha256Hex } from '@app/domain';
import { createScratchDatabase, dropDatabase } from './support/databases.js';
import { bearer, startTestApp, type TestKey } from './support/test-app.js';

const OWNERS_MIGRATION = '20261201000000_owners';

/** A database as it stood before owners existed, with keys, an exception, an override and audit events in it. */
async function legacyDatabase(databaseUrl: string) {
  const before = mkdtempSync(join(tmpdir(), 'helopass-migrations-'));
  try {
    for (const migration of readMigrations().filter((m) => m.name < OWNERS_MIGRATION)) {
      mkdirSync(join(before, migration.name));
      writeFileSync(join(before, migration.name, 'migration.sql'), migration.sql);
    }
    await applyMigrations(databaseUrl, before);
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const key = async (name: string, role: string) => {
      const secret = generateApiKeySecret();
      const id = randomUUID();
      await client.query('INSERT INTO api_keys (id, name, role, prefix, secret_hash) VALUES ($1, $2, $3, $4, $5)', [
        id,
        name,
        role,
        apiKeyPrefix(secret),
        hashApiKeySecret(secret),
      ]);
      return { id, key: secret, role, name, owner: null } as TestKey;
    };
    const keys = { admin: await key('ops one', 'admin'), admin2: await key('ops two', 'admin'), csr: await key('desk', 'csr'), filter: await key('mx1', 'filter') };
    const org = randomUUID();
    await client.query(`INSERT INTO organizations (id, name) VALUES ($1, 'Legacy Ltd')`, [org]);
    const server = randomUUID();
    await client.query(`INSERT INTO mail_servers (id, organization_id, helo_hostname) VALUES ($1, $2, 'exch01.corp.local')`, [server, org]);
    const exception = randomUUID();
    await client.query(
      `INSERT INTO exceptions (id, organization_id, mail_server_id, scope, status, reason, starts_at, expires_at, helo_hostname,
         addresses, approval_reasons, evidence, requested_by, requested_by_name, approved_by, approved_at,
         renewal_expires_at, renewal_requested_by)
       VALUES ($1, $2, $3, 'pair', 'active', 'legacy', now(), now() + interval '30 days', 'exch01.corp.local',
         ARRAY['192.0.2.1/32'], ARRAY['long_duration'], '{}', $4, 'desk', $5, now(), now() + interval '200 days', $6)`,
      [exception, org, server, keys.csr.id, keys.admin.id, keys.admin2.id],
    );
    const domain = randomUUID();
    await client.query(
      `INSERT INTO domains (id, organization_id, name, status, challenge_token, challenge_issued_at, challenge_expires_at,
         verified_at, override_justification, override_expires_at, override_by)
       VALUES ($1, $2, 'legacy.example', 'verified', 'abc', now(), now() + interval '7 days', now(),
         'vouched for by one admin', now() + interval '30 days', $3)`,
      [domain, org, keys.admin.id],
    );
    const other = randomUUID();
    await client.query(
      `INSERT INTO domains (id, organization_id, name, challenge_token, challenge_issued_at, challenge_expires_at)
       VALUES ($1, $2, 'pending-legacy.example', 'def', now(), now() + interval '7 days')`,
      [other, org],
    );
    // Audit events hashed the way they were before owners existed.
    let prevHash = '0'.repeat(64);
    for (const [action, actor] of [
      ['organization.created', keys.csr],
      ['domain.overridden', keys.admin],
    ] as const) {
      const fields = {
        id: randomUUID(),
        occurredAt: new Date(Date.now() - 60_000),
        actorId: actor.id,
        actorName: actor.name,
        actorRole: actor.role,
        action,
        entityType: action.split('.')[0]!,
        entityId: action.startsWith('domain') ? domain : org,
        organizationId: org,
        before: null,
        after: { legacy: true },
        requestId: null,
      };
      const hash = sha256Hex(prevHash + canonicalJson(fields));
      await client.query(
        `INSERT INTO audit_events (id, occurred_at, actor_id, actor_name, actor_role, action, entity_type, entity_id, organization_id,
           after, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [fields.id, fields.occurredAt, actor.id, actor.name, actor.role, action, fields.entityType, fields.entityId, org, fields.after, prevHash, hash],
      );
      prevHash = hash;
    }
    return { keys, exception, domain, other };
  } finally {
    await client.end();
  }
}

describe('migration to owners', () => {
  it('gives every old key its own owner, carries owners onto exceptions, keeps old overrides, and the old chain still verifies', async () => {
    const adminUrl = inject('adminUrl');
    const databaseUrl = await createScratchDatabase(adminUrl, 'owners');
    try {
      const legacy = await legacyDatabase(databaseUrl);
      expect(await applyMigrations(databaseUrl)).toContain(OWNERS_MIGRATION);
      const t = await startTestApp({ DATABASE_URL: databaseUrl });
      try {
        const keys = await t.prisma.apiKey.findMany({ where: { id: { in: Object.values(legacy.keys).map((key) => key.id) } } });
        const owner = (id: string) => keys.find((key) => key.id === id)!.owner;
        expect(owner(legacy.keys.filter.id)).toBeNull();
        const people = [legacy.keys.admin, legacy.keys.admin2, legacy.keys.csr].map((key) => owner(key.id));
        expect(people).toEqual([`legacy-key-${legacy.keys.admin.id}`, `legacy-key-${legacy.keys.admin2.id}`, `legacy-key-${legacy.keys.csr.id}`]);

        const exception = await t.prisma.exception.findUniqueOrThrow({ where: { id: legacy.exception } });
        expect(exception).toMatchObject({
          requestedByOwner: owner(legacy.keys.csr.id),
          approvedByOwner: owner(legacy.keys.admin.id),
          renewalRequestedByOwner: owner(legacy.keys.admin2.id),
        });

        // An override made before stays in force until it expires, shown without an approver.
        const domain = await t.http.get(`/v1/domains/${legacy.domain}`).set(bearer(legacy.keys.admin)).expect(200);
        expect(domain.body).toMatchObject({ status: 'verified', override: { by: legacy.keys.admin.id, owner: null, approvedBy: null, active: true } });

        // Two old keys are two people: one requests an override, the other approves it.
        await t.http
          .post(`/v1/domains/${legacy.other}/override`)
          .set(bearer(legacy.keys.admin))
          .send({ justification: 'legacy customer, DNS hosted elsewhere', expiresAt: new Date(Date.now() + 86_400_000).toISOString() })
          .expect(200);
        const approved = await t.http.post(`/v1/domains/${legacy.other}/override/approve`).set(bearer(legacy.keys.admin2)).expect(200);
        expect(approved.body.override).toMatchObject({ owner: owner(legacy.keys.admin.id), approvedByOwner: owner(legacy.keys.admin2.id) });

        const verified = await t.http.get('/v1/audit-events/verify').set(bearer(t.keys.auditor)).expect(200);
        expect(verified.body).toMatchObject({ valid: true, firstBrokenEventId: null });
        expect(verified.body.checked).toBeGreaterThan(2);
      } finally {
        await t.close();
      }
    } finally {
      await dropDatabase(adminUrl, databaseUrl);
    }
  });
});
