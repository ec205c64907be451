import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCheckpointSignatureValid } from '@app/domain';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';
import { bearer, createOrganization, startIsolatedTestApp, type TestApp } from './support/test-app.js';

type IsolatedApp = TestApp & { databaseUrl: string; ownerUrl: string };

/** As the schema's owner, with the append-only guards switched off: what only an intruder with the owner's rights could do. */
async function asIntruder(ownerUrl: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await client.query('ALTER TABLE audit_chain DISABLE TRIGGER USER');
    await client.query('ALTER TABLE audit_checkpoints DISABLE TRIGGER USER');
    const result = await client.query(sql, values);
    // … and covers the tracks: the guards stand again.
    for (const table of ['audit_events', 'audit_chain', 'audit_checkpoints']) {
      await client.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    }
    return result;
  } finally {
    await client.end();
  }
}

async function checkpoint(t: TestApp): Promise<Record<string, any>> {
  return (await t.http.post('/v1/audit-events/checkpoints').set(bearer(t.keys.admin)).expect(201)).body;
}

/** The copy an auditor kept: the checkpoint as pushed outside (no id, no createdBy). */
function keptCopy(created: Record<string, any>): string {
  const { id: _id, createdBy: _by, ...outside } = created.checkpoint;
  return JSON.stringify(outside);
}

async function verifyAgainst(t: TestApp, copy: string): Promise<Record<string, any>> {
  return (await t.http.get('/v1/audit-events/verify').query({ checkpoint: copy }).set(bearer(t.keys.auditor)).expect(200)).body;
}

describe('audit checkpoints', () => {
  let t: IsolatedApp;
  let receiver: WebhookReceiver;
  let folder: string;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    receiver.answer('/checkpoints', { status: 204 });
    folder = mkdtempSync(join(tmpdir(), 'helopass-checkpoints-'));
    t = await startIsolatedTestApp({
      AUDIT_CHECKPOINT_FILE: join(folder, 'checkpoints.ndjson'),
      AUDIT_CHECKPOINT_URL: receiver.url('/checkpoints'),
    });
  });
  afterAll(async () => {
    await t.close();
    await receiver.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('signs the head on demand (admin), lists checkpoints (auditor, admin), and copies each to the file and the HTTP receiver', async () => {
    await createOrganization(t);
    await createOrganization(t);
    await t.http.post('/v1/audit-events/checkpoints').set(bearer(t.keys.csr)).expect(403);
    await t.http.post('/v1/audit-events/checkpoints').set(bearer(t.keys.auditor)).expect(403);
    const created = await checkpoint(t);
    const links = await t.prisma.auditChainLink.count();
    const last = await t.prisma.auditChainLink.findFirstOrThrow({ orderBy: { position: 'desc' } });
    expect(created.checkpoint).toMatchObject({ count: links, lastHash: last.hash, lastEventId: last.eventId, createdBy: expect.stringContaining('admin') });
    expect(created.published).toEqual({ file: 'written', url: 'delivered (HTTP 204)' });
    expect(auditCheckpointSignatureValid(created.checkpoint)).toBe(true);
    expect(auditCheckpointSignatureValid({ ...created.checkpoint, count: links + 1 })).toBe(false);

    const file = readFileSync(join(folder, 'checkpoints.ndjson'), 'utf8').trim().split('\n');
    expect(file.at(-1)).toBe(keptCopy(created));
    expect(receiver.to('/checkpoints').at(-1)!.body).toBe(keptCopy(created));

    const listed = await t.http.get('/v1/audit-events/checkpoints').set(bearer(t.keys.auditor)).expect(200);
    expect(listed.body.items[0]).toEqual(created.checkpoint);
    await t.http.get('/v1/audit-events/checkpoints').set(bearer(t.keys.csr)).expect(403);

    // Incremental: only what came after the checkpoint is walked; the full check walks everything.
    await createOrganization(t);
    const incremental = await t.http.get('/v1/audit-events/verify').set(bearer(t.keys.auditor)).expect(200);
    expect(incremental.body).toMatchObject({ valid: true, fromPosition: links, checked: 1, lastPosition: links + 1 });
    const full = await t.http.get('/v1/audit-events/verify').query({ mode: 'full' }).set(bearer(t.keys.auditor)).expect(200);
    expect(full.body).toMatchObject({ valid: true, fromPosition: 0, checked: links + 1 });

    expect(await verifyAgainst(t, keptCopy(created))).toMatchObject({ verdict: 'consistent', valid: true, checkpoint: { knownToDatabase: true } });
    const forged = JSON.stringify({ ...JSON.parse(keptCopy(created)), count: links + 1 });
    expect(await verifyAgainst(t, forged)).toMatchObject({ verdict: 'checkpoint_signature_invalid', valid: false });
    const bad = await t.http.get('/v1/audit-events/verify').query({ checkpoint: '{"count": "x"}' }).set(bearer(t.keys.auditor)).expect(400);
    expect(bad.body.detail).toMatch(/checkpoint/);
  });

  it('shows a rewritten event against a checkpoint (and the full check finds it)', async () => {
    const org = await createOrganization(t, { name: 'Honest name' });
    const kept = keptCopy(await checkpoint(t));
    const target = await asIntruder(
      t.ownerUrl,
      `UPDATE audit_events SET after = jsonb_set(after, '{name}', '"Rewritten"') WHERE entity_id = $1 AND action = 'organization.created' RETURNING id`,
      [org.id],
    );
    const verdict = await verifyAgainst(t, kept);
    expect(verdict).toMatchObject({ verdict: 'event_rewritten', valid: false });
    expect(verdict.detail).toContain(target.rows[0].id);
    const full = await t.http.get('/v1/audit-events/verify').query({ mode: 'full' }).set(bearer(t.keys.auditor)).expect(200);
    expect(full.body).toMatchObject({ valid: false, problem: 'event_rewritten', firstBrokenEventId: target.rows[0].id });
    // A chain broken since the last checkpoint is never signed.
    const later = await createOrganization(t);
    await t.http.get('/v1/audit-events/verify').set(bearer(t.keys.auditor)).expect(200);
    await asIntruder(t.ownerUrl, `UPDATE audit_events SET actor_name = 'someone else' WHERE entity_id = $1`, [later.id]);
    const refused = await t.http.post('/v1/audit-events/checkpoints').set(bearer(t.keys.admin)).expect(422);
    expect(refused.body.detail).toMatch(/does not verify \(event_rewritten/);
  });
});

describe('audit checkpoints against a cut or restored database', () => {
  let t: IsolatedApp;
  beforeAll(async () => {
    t = await startIsolatedTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('a cut tail: the database still holds the checkpoint, the chain no longer reaches it', async () => {
    for (let i = 0; i < 4; i += 1) {
      await createOrganization(t);
    }
    const created = await checkpoint(t);
    const count = created.checkpoint.count as number;
    await asIntruder(
      t.ownerUrl,
      `WITH gone AS (DELETE FROM audit_chain WHERE position > $1 RETURNING event_id)
       DELETE FROM audit_events WHERE id IN (SELECT event_id FROM gone)`,
      [count - 2],
    );
    const verdict = await verifyAgainst(t, keptCopy(created));
    expect(verdict).toMatchObject({ verdict: 'tail_truncated', valid: false, checkpoint: { count, knownToDatabase: true } });
    expect(verdict.detail).toContain(`the last 2 event(s) were removed`);
  });

  it('a restored older backup, written on since: the database does not know the newer checkpoint and holds other events', async () => {
    await asIntruder(t.ownerUrl, 'DELETE FROM audit_checkpoints');
    const older = await checkpoint(t); // what the backup holds
    for (let i = 0; i < 3; i += 1) {
      await createOrganization(t);
    }
    const newer = await checkpoint(t); // kept outside, taken after the backup
    // The restore: back to the older checkpoint's state (events, links and checkpoints after it gone) …
    await asIntruder(
      t.ownerUrl,
      `WITH gone AS (DELETE FROM audit_chain WHERE position > $1 RETURNING event_id)
       DELETE FROM audit_events WHERE id IN (SELECT event_id FROM gone)`,
      [older.checkpoint.count],
    );
    await asIntruder(t.ownerUrl, 'DELETE FROM audit_checkpoints WHERE id = $1', [newer.checkpoint.id]);
    const shorter = await verifyAgainst(t, keptCopy(newer));
    expect(shorter).toMatchObject({ verdict: 'restored_older_backup', valid: false, checkpoint: { knownToDatabase: false } });
    // … then life goes on: as many new events, so the chain is as long again, and verifies on its own.
    for (let i = 0; i < 3; i += 1) {
      await createOrganization(t);
    }
    const own = await t.http.get('/v1/audit-events/verify').query({ mode: 'full' }).set(bearer(t.keys.auditor)).expect(200);
    expect(own.body).toMatchObject({ valid: true });
    const verdict = await verifyAgainst(t, keptCopy(newer));
    expect(verdict).toMatchObject({ verdict: 'restored_older_backup', valid: false });
    expect(verdict.detail).toMatch(/holds another event than the checkpoint/);
    expect(await verifyAgainst(t, keptCopy(older))).toMatchObject({ verdict: 'consistent', valid: true });
  });
});

describe('incremental verification and the events checkpoints anchor', () => {
  let t: IsolatedApp;
  beforeAll(async () => {
    t = await startIsolatedTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('sees a rewrite of the event any checkpoint anchors, not only what came after the last one', async () => {
    await createOrganization(t);
    const first = (await checkpoint(t)).checkpoint;
    for (let i = 0; i < 2; i += 1) {
      await createOrganization(t);
    }
    const second = (await checkpoint(t)).checkpoint;
    await createOrganization(t);
    const verify = async () => (await t.http.get('/v1/audit-events/verify').set(bearer(t.keys.auditor)).expect(200)).body;
    expect(await verify()).toMatchObject({ valid: true, fromPosition: second.count, checked: 1 });

    // An event between the two checkpoints, rewritten: the incremental check does not walk there (the full one does).
    const between = await t.prisma.auditChainLink.findUniqueOrThrow({ where: { position: BigInt(first.count + 1) } });
    await asIntruder(t.ownerUrl, `UPDATE audit_events SET actor_name = 'someone else' WHERE id = $1`, [between.eventId]);
    expect(await verify()).toMatchObject({ valid: true });
    const full = await t.http.get('/v1/audit-events/verify').query({ mode: 'full' }).set(bearer(t.keys.auditor)).expect(200);
    expect(full.body).toMatchObject({ valid: false, problem: 'event_rewritten', firstBrokenEventId: between.eventId });

    // The event the older checkpoint anchors, rewritten: the incremental check names it.
    await asIntruder(t.ownerUrl, `UPDATE audit_events SET actor_name = 'someone else' WHERE id = $1`, [first.lastEventId]);
    const anchored = await verify();
    expect(anchored).toMatchObject({ valid: false, problem: 'event_rewritten', brokenAtPosition: first.count, firstBrokenEventId: first.lastEventId });
    expect(anchored.detail).toContain(`the checkpoint of ${first.at} anchors (position ${first.count})`);
    // And no checkpoint is signed over it.
    const refused = await t.http.post('/v1/audit-events/checkpoints').set(bearer(t.keys.admin)).expect(422);
    expect(refused.body.detail).toMatch(/does not verify \(event_rewritten/);
  });
});
