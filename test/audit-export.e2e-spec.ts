import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createMailServer, createOrganization, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

const run = promisify(execFile);
const CLI = 'dist/apps/cli/src/main.js';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('audit export and offline verification', () => {
  let t: TestApp & { databaseUrl: string; ownerUrl: string };
  let folder: string;
  beforeAll(async () => {
    t = await startIsolatedTestApp();
    folder = mkdtempSync(join(tmpdir(), 'helopass-export-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('exports NDJSON that verifies from the file alone and against a checkpoint; a changed line is named', async () => {
    const org = await createOrganization(t, { name: unique('Exported') });
    await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).send({ notes: 'because the customer asked' }).expect(200);
    const kept = (await t.http.post('/v1/audit-events/checkpoints').set(bearer(t.keys.admin)).expect(201)).body.checkpoint;
    await t.http.get('/v1/audit-events/export').set(bearer(t.keys.csr)).expect(403);
    const response = await t.http.get('/v1/audit-events/export').query({ format: 'ndjson' }).set(bearer(t.keys.auditor)).expect(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(response.headers['content-disposition']).toBe('attachment; filename="audit-events.ndjson"');
    const lines = response.text.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.position)).toEqual(lines.map((_line, i) => i + 1));
    expect(lines.at(-1)).toMatchObject({ position: kept.count, hash: kept.lastHash, id: kept.lastEventId });
    expect(Object.keys(lines[0]).sort()).toEqual(
      ['action', 'actorId', 'actorName', 'actorOwner', 'actorRole', 'after', 'before', 'entityId', 'entityType', 'hash', 'id', 'occurredAt', 'organizationId', 'position', 'prevHash', 'requestId'].sort(),
    );

    const file = join(folder, 'export.ndjson');
    writeFileSync(file, response.text);
    const checkpointFile = join(folder, 'checkpoints.ndjson');
    const { id: _id, createdBy: _by, ...outside } = kept;
    writeFileSync(checkpointFile, JSON.stringify(outside) + '\n');
    const publicKey = kept.publicKey as string;

    const ok = await cli(['audit', 'verify', '--file', file, '--checkpoint', checkpointFile, '--public-key', publicKey]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toContain(`verified: ${lines.length} events, last position ${kept.count}`);
    expect(ok.stdout).toContain('holds the checkpoint');

    // One word changed in one line: the command names that event and fails.
    const changed = lines.map((line) => (line.entityId === org.id && line.action === 'organization.updated' ? { ...line, after: { ...line.after, notes: 'as we decided' } } : line));
    const tampered = join(folder, 'tampered.ndjson');
    writeFileSync(tampered, changed.map((line) => JSON.stringify(line)).join('\n') + '\n');
    const bad = await cli(['audit', 'verify', '--file', tampered]);
    const target = lines.find((line) => line.entityId === org.id && line.action === 'organization.updated');
    expect(bad.code).toBe(3);
    expect(bad.stdout).toContain(`NOT VERIFIED: event ${target.id}`);

    // The last two lines cut off: the checkpoint shows it.
    const cut = join(folder, 'cut.ndjson');
    writeFileSync(cut, lines.slice(0, -2).map((line) => JSON.stringify(line)).join('\n') + '\n');
    const short = await cli(['audit', 'verify', '--file', cut, '--checkpoint', checkpointFile, '--public-key', publicKey]);
    expect(short.code).toBe(3);
    expect(short.stdout).toMatch(/the file ends at position \d+, but the checkpoint .* saw \d+ events: the tail was cut off/);

    // The database itself, against the same checkpoint.
    const online = await cli(['audit', 'verify', '--checkpoint', checkpointFile, '--public-key', publicKey], { DATABASE_URL: t.databaseUrl });
    expect(online).toMatchObject({ code: 0 });
    expect(online.stdout).toContain('verified (consistent)');
  });

  it('exports CSV safe against formulas; filters by action prefix and by words in a reason; the CLI exports the same', async () => {
    const org = await createOrganization(t, { name: '=HYPERLINK("http://evil.example","click")' });
    const csv = await t.http.get('/v1/audit-events/export').query({ format: 'csv', organizationId: org.id }).set(bearer(t.keys.admin)).expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const rows = csv.text.split('\r\n').filter((row) => row !== '');
    expect(rows[0]).toBe('position,id,occurredAt,actorId,actorName,actorRole,actorOwner,action,entityType,entityId,organizationId,before,after,requestId,prevHash,hash');
    expect(rows).toHaveLength(2);
    expect(rows[1]).not.toMatch(/,=HYPERLINK/);
    expect(rows[1]).toContain('organization.created');

    const kinds = await t.http.get('/v1/audit-events').query({ action: 'organization.' }).set(bearer(t.keys.auditor)).expect(200);
    expect(kinds.body.items.length).toBeGreaterThan(0);
    expect(kinds.body.items.every((event: { action: string }) => event.action.startsWith('organization.'))).toBe(true);
    await t.http.get('/v1/audit-events').query({ action: 'organization' }).set(bearer(t.keys.auditor)).expect(400);

    // Words in a reason or a justification find the events that carry them, and only those.
    const server = await createMailServer(t, org.id);
    const word = unique('mergerrelay');
    const requested = await t.http
      .post('/v1/exceptions')
      .set(bearer(t.keys.admin))
      .send({ mailServerId: server.id, reason: `relay of the ${word} partner`, justification: 'contract 2026-21, signed by the CTO' })
      .expect(201);
    const byReason = await t.http.get('/v1/audit-events').query({ q: word }).set(bearer(t.keys.auditor)).expect(200);
    expect(byReason.body.items.map((event: { entityId: string; action: string }) => [event.entityId, event.action])).toEqual([[requested.body.id, 'exception.requested']]);
    const byJustification = await t.http.get('/v1/audit-events').query({ q: 'signed by the CTO', action: 'exception.' }).set(bearer(t.keys.auditor)).expect(200);
    expect(byJustification.body.items.map((event: { entityId: string }) => event.entityId)).toContain(requested.body.id);
    // Case does not matter, in the list and in the export alike.
    const anyCase = await t.http.get('/v1/audit-events').query({ q: word.toUpperCase() }).set(bearer(t.keys.auditor)).expect(200);
    expect(anyCase.body.items.map((event: { entityId: string; action: string }) => [event.entityId, event.action])).toEqual([[requested.body.id, 'exception.requested']]);
    const lowerCto = await t.http.get('/v1/audit-events/export').query({ format: 'ndjson', q: 'SIGNED BY THE cto', entityId: requested.body.id }).set(bearer(t.keys.auditor)).expect(200);
    expect(lowerCto.text.trim().split('\n').map((line) => JSON.parse(line).entityId)).toEqual([requested.body.id]);
    const none = await t.http.get('/v1/audit-events').query({ q: unique('nowhere') }).set(bearer(t.keys.auditor)).expect(200);
    expect(none.body.items).toEqual([]);

    const out = join(folder, 'orgs.ndjson');
    const exported = await cli(['audit', 'export', '--action', 'organization.', '--out', out], { DATABASE_URL: t.databaseUrl });
    expect(exported.code).toBe(0);
    const fromCli = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(fromCli.length).toBeGreaterThan(0);
    expect(fromCli.every((line) => line.action.startsWith('organization.'))).toBe(true);
    const filtered = await cli(['audit', 'verify', '--file', out]);
    expect(filtered.code).toBe(0);
    expect(filtered.stdout).toMatch(/a filtered export: \d+ gap\(s\)/);
  });

  it('pages newest first with a cursor that stays stable while events arrive', async () => {
    const org = await createOrganization(t);
    for (let i = 0; i < 4; i += 1) {
      await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).send({ notes: `n${i}` }).expect(200);
    }
    const first = await t.http.get('/v1/audit-events').query({ organizationId: org.id, limit: 2 }).set(bearer(t.keys.auditor)).expect(200);
    await t.http.patch(`/v1/organizations/${org.id}`).set(bearer(t.keys.csr)).send({ notes: 'arrived meanwhile' }).expect(200);
    const rest = await t.http.get('/v1/audit-events').query({ organizationId: org.id, limit: 10, cursor: first.body.nextCursor }).set(bearer(t.keys.auditor)).expect(200);
    const seen = [...first.body.items, ...rest.body.items].map((event: { id: string }) => event.id);
    expect(new Set(seen).size).toBe(5);
    expect(rest.body.items.at(-1).action).toBe('organization.created');
  });
});
