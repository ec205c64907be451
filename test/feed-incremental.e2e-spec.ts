import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowlistRepository, buildSnapshot, FEED_SIGNER, FeedChangeLog, RENDERINGS, SnapshotStore, type FeedSigner } from '@app/enforcement';
import { ExceptionDecisionsService } from '@app/exceptions';
import { ManualClock } from '@app/domain';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, startIsolatedTestApp, startTestApp, type TestApp } from './support/test-app.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The store follows the database change by change (NOTIFY payloads and the
 * change log) instead of reading the whole list: after every kind of change,
 * and after every way of missing one, what it serves must be byte for byte
 * what a fresh full build from the database gives.
 */
describe('incremental allowlist', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  const clock = new ManualClock(new Date('2026-12-01T12:00:00.000Z'));
  const servers: { organizationId: string; mailServerId: string; spf: boolean }[] = [];
  const granted: string[] = [];

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp(
      { DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1', FEED_POLL_SECONDS: '1' },
      clock,
    );
    for (let i = 0; i < 10; i++) {
      const spf = i >= 7;
      const server = await provenMailServer(t, dns, { addresses: [`192.0.2.${20 + i}`, `2001:db8:${i}::1`], proof: spf ? 'spf' : 'ptr' });
      servers.push({ organizationId: server.organizationId, mailServerId: server.mailServerId, spf });
    }
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  const store = () => t.app.get(SnapshotStore);
  const dbVersion = async () => (await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version;

  async function caughtUp(which = store()): Promise<void> {
    const target = await dbVersion();
    await expect.poll(() => which.current()?.version, { timeout: 5000, interval: 10 }).toBe(target);
    await which.settled();
  }

  /** What the store serves equals, byte for byte, a snapshot built from scratch from the database at the same instant. */
  async function expectSameAsFullBuild(which = store()): Promise<void> {
    which.rerender(); // what the transition timer does when the clock passes a start or an expiry
    const now = clock.now();
    const { head, candidates } = await t.app.get(AllowlistRepository).load(now);
    const signer = t.app.get<FeedSigner>(FEED_SIGNER);
    const full = buildSnapshot(candidates, head.version, head.changedAt, now, undefined, (body) => signer.sign(body));
    expect(which.current()!.version).toBe(head.version);
    for (const rendering of RENDERINGS) {
      const mine = await which.rendering(rendering);
      expect(mine.body.toString(), rendering).toBe(full.renderings[rendering].body.toString());
      expect(mine.gzip.equals(full.renderings[rendering].gzip), `${rendering} gzip`).toBe(true);
      expect(mine.etag).toBe(full.renderings[rendering].etag);
      expect(signer.verify(mine.body, mine.signature)).toBe(true);
    }
  }

  async function grant(server: (typeof servers)[number], hours: number | null): Promise<void> {
    const body: Record<string, unknown> = { mailServerId: server.mailServerId, reason: 'property' };
    if (hours !== null) {
      body.expiresAt = new Date(clock.now().getTime() + hours * HOUR).toISOString();
    }
    const response = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send(body);
    expect([201, 409, 422]).toContain(response.status);
    if (response.status === 201) {
      granted.push(response.body.id);
    }
  }

  /** An active exception written straight into the table and recorded as a grant records it (no ownership checks needed). */
  async function insertActive(server: (typeof servers)[number], address: string, prisma = t.prisma): Promise<string> {
    return prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<{ id: string }[]>`
        INSERT INTO exceptions (id, organization_id, mail_server_id, scope, status, reason, starts_at, expires_at,
                                helo_hostname, addresses, evidence, requested_by, requested_by_name, requested_by_owner, approval_reasons)
        VALUES (gen_random_uuid(), ${server.organizationId}::uuid, ${server.mailServerId}::uuid, 'ip', 'active', 'direct',
                ${new Date(clock.now().getTime() - HOUR)}, ${new Date(clock.now().getTime() + 10 * DAY)},
                'direct.example', ARRAY[${address}], '{}'::jsonb, gen_random_uuid(), 'direct', 'direct@example.test', ARRAY[]::text[])
        RETURNING id`;
      await tx.$executeRaw`UPDATE organizations SET status = 'active' WHERE id = ${server.organizationId}::uuid`;
      await new FeedChangeLog(prisma).record(tx, [row!.id]);
      return row!.id;
    });
  }

  /** A revocation written as the application writes it (change log included) but announced by no NOTIFY. */
  async function revokeSilently(id: string): Promise<void> {
    await t.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE exceptions SET status = 'revoked' WHERE id = ${id}::uuid`;
      const [head] = await tx.$queryRaw<{ version: bigint; changed_at: Date }[]>`
        UPDATE feed_state SET version = version + 1, changed_at = clock_timestamp() WHERE id = 1 RETURNING version, changed_at`;
      await tx.$executeRaw`INSERT INTO feed_versions (version, changed_at) VALUES (${head!.version}, ${head!.changed_at})`;
      await tx.$executeRaw`INSERT INTO feed_changes (version, exception_id, entry) VALUES (${head!.version}, ${id}::uuid, NULL)`;
    });
  }

  type Command =
    | { kind: 'grant'; server: number; hours: number | null }
    | { kind: 'approve' | 'revoke' | 'renew'; pick: number }
    | { kind: 'expire'; hours: number }
    | { kind: 'suspend' | 'reactivate'; server: number };

  async function run(command: Command): Promise<void> {
    const pick = (n: number) => granted[n % Math.max(granted.length, 1)];
    switch (command.kind) {
      case 'grant':
        return grant(servers[command.server]!, command.hours);
      case 'approve': {
        const id = pick(command.pick);
        if (id) await t.http.post(`/v1/exceptions/${id}/approve`).set(bearer(t.keys.csr2)).send({});
        return;
      }
      case 'revoke': {
        const id = pick(command.pick);
        if (id) await t.http.post(`/v1/exceptions/${id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'done' });
        return;
      }
      case 'renew': {
        const id = pick(command.pick);
        const expiresAt = new Date(clock.now().getTime() + 30 * DAY).toISOString();
        if (id) await t.http.post(`/v1/exceptions/${id}/renew`).set(bearer(t.keys.csr)).send({ expiresAt });
        return;
      }
      case 'expire':
        clock.advance(command.hours * HOUR);
        await t.app.get(ExceptionDecisionsService).expireDue();
        return;
      case 'suspend':
      case 'reactivate':
        await t.http.post(`/v1/organizations/${servers[command.server]!.organizationId}/${command.kind}`).set(bearer(t.keys.csr)).send({});
        return;
    }
  }

  const command: fc.Arbitrary<Command> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('grant' as const), server: fc.nat(9), hours: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }) }) },
    fc.record({ kind: fc.constantFrom('approve' as const, 'revoke' as const, 'renew' as const), pick: fc.nat(50) }),
    fc.record({ kind: fc.constant('expire' as const), hours: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constantFrom('suspend' as const, 'reactivate' as const), server: fc.nat(9) }),
  );

  it('after every grant, approval, revocation, renewal, expiry, suspension and restoration, serves the bytes of a fresh full build — without reading the whole list', async () => {
    await caughtUp();
    const fullLoads = store().statistics().fullLoads;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 4, maxLength: 10 }), async (commands) => {
        for (const step of commands) {
          await run(step);
          await caughtUp();
          await expectSameAsFullBuild();
        }
      }),
      { numRuns: 8 },
    );
    expect(granted.length).toBeGreaterThan(0);
    expect(store().statistics().fullLoads).toBe(fullLoads);
    expect(store().statistics().appliedVersions).toBeGreaterThan(0);
  }, 180_000);

  it('catches up from the change log after a lost notification (version poll), with no full load', async () => {
    await caughtUp();
    const fullLoads = store().statistics().fullLoads;
    const victim = await insertActive(servers[0]!, '203.0.113.201/32');
    await caughtUp();
    const changed = await dbVersion();
    await revokeSilently(victim);
    expect(await dbVersion()).toBe(changed + 1n);
    expect((await store().rendering('json')).body.toString()).toContain(victim);
    await caughtUp(); // the one-second version poll finds it
    await expectSameAsFullBuild();
    expect((await store().rendering('json')).body.toString()).not.toContain(victim);
    expect(store().statistics().fullLoads).toBe(fullLoads);
  });

  it('carries a change too large for a NOTIFY payload through the change log', async () => {
    await caughtUp();
    const fullLoads = store().statistics().fullLoads;
    const server = servers[0]!;
    await t.http.post(`/v1/organizations/${server.organizationId}/reactivate`).set(bearer(t.keys.csr)).send({});
    // Forty-five more exceptions of one organization, written straight into the table and recorded as one change.
    await t.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string }[]>`
        INSERT INTO exceptions (id, organization_id, mail_server_id, scope, status, reason, starts_at, expires_at,
                                helo_hostname, addresses, evidence, requested_by, requested_by_name, requested_by_owner, approval_reasons)
        SELECT gen_random_uuid(), ${server.organizationId}::uuid, ${server.mailServerId}::uuid, 'ip', 'active', 'bulk',
               ${new Date(clock.now().getTime() - HOUR)}, ${new Date(clock.now().getTime() + 10 * DAY)},
               'bulk-' || i || '.example', ARRAY['10.9.' || i || '.0/24'], '{}'::jsonb, gen_random_uuid(), 'bulk', 'bulk@example.test', ARRAY[]::text[]
        FROM generate_series(1, 45) AS i RETURNING id`;
      await new FeedChangeLog(t.prisma).record(tx, rows.map((row) => row.id));
    });
    await caughtUp();
    const listener = new pg.Client({ connectionString: t.databaseUrl });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (message) => payloads.push(message.payload ?? ''));
    await listener.query('LISTEN helopass_feed');
    try {
      await t.http.post(`/v1/organizations/${server.organizationId}/suspend`).set(bearer(t.keys.csr)).send({}).expect(200);
      await caughtUp();
      await expectSameAsFullBuild();
      expect((await store().rendering('postfix-cidr')).body.toString()).not.toContain('10.9.1.0/24');
      const heard = payloads.length;
      // Forty-five entries coming back: too large for a payload, so the version only, and the change log supplies the rest.
      await t.http.post(`/v1/organizations/${server.organizationId}/reactivate`).set(bearer(t.keys.csr)).send({}).expect(200);
      await caughtUp();
      await expect.poll(() => payloads.length).toBeGreaterThan(heard);
      expect(JSON.parse(payloads[payloads.length - 1]!)).not.toHaveProperty('c');
      await expectSameAsFullBuild();
      expect((await store().rendering('postfix-cidr')).body.toString()).toContain('10.9.1.0/24 OK');
    } finally {
      await listener.end();
    }
    expect(store().statistics().fullLoads).toBe(fullLoads);
  });

  it('catches up after the notification connection is cut (hub reconnect), from the log', async () => {
    await caughtUp();
    const fullLoads = store().statistics().fullLoads;
    await t.prisma.$executeRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'helopass-notifications' AND datname = current_database()`;
    await grant(servers[1]!, null);
    await grant(servers[2]!, 3);
    await caughtUp();
    await expectSameAsFullBuild();
    expect(store().statistics().fullLoads).toBe(fullLoads);
  });

  it('finds drift by digest, logs it as an anomaly, and repairs it with a full load', async () => {
    await caughtUp();
    expect(await store().compareDigest()).toBe(true);
    const before = store().statistics();
    // A row changed behind the application's back: no version, no change log.
    const victim = (await t.prisma.$queryRaw<{ id: string }[]>`SELECT id FROM exceptions WHERE status = 'active' AND expires_at > ${clock.now()} LIMIT 1`)[0]!.id;
    await t.prisma.$executeRaw`UPDATE exceptions SET helo_hostname = 'drifted.example' WHERE id = ${victim}::uuid`;
    expect(await store().compareDigest()).toBe(false);
    await expect.poll(() => store().statistics().fullLoads).toBe(before.fullLoads + 1);
    expect(store().statistics().anomalies).toBe(before.anomalies + 1);
    expect(t.logs.text).toContain('allowlist-drift');
    await expectSameAsFullBuild();
    expect(await store().compareDigest()).toBe(true);
  });

  it('reads the whole list when it fell behind further than the change log reaches', async () => {
    await caughtUp();
    const fullLoads = store().statistics().fullLoads;
    const victims = [await insertActive(servers[1]!, '203.0.113.202/32'), await insertActive(servers[2]!, '203.0.113.203/32')];
    await caughtUp();
    const version = store().current()!.version;
    // Changes this process does not hear of (as if paused), and the log pruned past them — in one transaction,
    // so that its version poll cannot catch up in between.
    await t.prisma.$transaction(async (tx) => {
      for (const victim of victims) {
        await tx.$executeRaw`UPDATE exceptions SET status = 'revoked' WHERE id = ${victim}::uuid`;
        const [head] = await tx.$queryRaw<{ version: bigint; changed_at: Date }[]>`
          UPDATE feed_state SET version = version + 1, changed_at = clock_timestamp() WHERE id = 1 RETURNING version, changed_at`;
        await tx.$executeRaw`INSERT INTO feed_versions (version, changed_at) VALUES (${head!.version}, ${head!.changed_at})`;
        await tx.$executeRaw`INSERT INTO feed_changes (version, exception_id, entry) VALUES (${head!.version}, ${victim}::uuid, NULL)`;
      }
      await tx.$executeRaw`DELETE FROM feed_changes WHERE version < (SELECT version FROM feed_state WHERE id = 1)`;
    });
    expect(await t.app.get(AllowlistRepository).changesSince(version)).toBeNull();
    await store().catchUp();
    expect(store().statistics().fullLoads).toBe(fullLoads + 1);
    expect(t.logs.text).toContain('no longer reaches back');
    await expectSameAsFullBuild();
  });

  it('coalesces a burst: a hundred versions in a moment, at most one swap per FEED_COALESCE_MS', async () => {
    await caughtUp();
    const before = store().statistics();
    const started = performance.now();
    const ids = (await t.prisma.$queryRaw<{ id: string }[]>`SELECT id FROM exceptions LIMIT 100`).map((row) => row.id);
    const log = new FeedChangeLog(t.prisma);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => t.prisma.$transaction((tx) => log.record(tx, [ids[i % ids.length]!]), { maxWait: 30_000, timeout: 30_000 })),
    );
    await caughtUp();
    const after = store().statistics();
    const elapsed = performance.now() - started;
    expect(after.appliedVersions - before.appliedVersions).toBe(100);
    expect(after.swaps - before.swaps).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    expect(after.swaps - before.swaps).toBeLessThan(100);
    await expectSameAsFullBuild();
  });

  it('two processes racing: changes committed at once by two writers leave both stores with the same bytes as a fresh full build', async () => {
    const other = await startTestApp({ DATABASE_URL: t.databaseUrl, DNS_RESOLVERS: dns.address, FEED_POLL_SECONDS: '1' }, clock);
    try {
      const otherStore = other.app.get(SnapshotStore);
      await caughtUp();
      await caughtUp(otherStore);
      const before = [store().statistics().fullLoads, otherStore.statistics().fullLoads];
      // Two writers (each process's own connection pool), interleaved: inserts from both, revocations through both APIs.
      const inserted = await Promise.all(
        Array.from({ length: 24 }, (_, i) => insertActive(servers[i % servers.length]!, `203.0.113.${100 + i}/32`, i % 2 === 0 ? t.prisma : other.prisma)),
      );
      await Promise.all(
        inserted
          .filter((_, i) => i % 3 === 0)
          .map((id, i) => (i % 2 === 0 ? t : other).http.post(`/v1/exceptions/${id}/revoke`).set(bearer((i % 2 === 0 ? t : other).keys.csr)).send({ reason: 'race' }).expect(200)),
      );
      await caughtUp();
      await caughtUp(otherStore);
      await expectSameAsFullBuild();
      await expectSameAsFullBuild(otherStore);
      for (const rendering of RENDERINGS) {
        const mine = await store().rendering(rendering);
        const theirs = await otherStore.rendering(rendering);
        expect(mine.body.equals(theirs.body), rendering).toBe(true);
        expect(mine.gzip.equals(theirs.gzip), `${rendering} gzip`).toBe(true);
        expect(mine.etag).toBe(theirs.etag);
      }
      // Followed change by change, not by reading the whole list again.
      expect([store().statistics().fullLoads, otherStore.statistics().fullLoads]).toEqual(before);
    } finally {
      await other.close();
    }
  });

  describe('delta feed GET /v1/allowlist/changes', () => {
    interface JsonEntry {
      exceptionId: string;
      expiresAt: string;
      [field: string]: unknown;
    }
    const fullJson = async () => {
      const response = await t.http.get('/v1/allowlist').set(bearer(t.keys.filter)).expect(200);
      return { version: response.headers['x-allowlist-version']!, body: JSON.parse(response.text) as { generatedAt: string; entries: JsonEntry[] } };
    };

    it('gives what, applied to an old full body, makes the new full body', async () => {
      await caughtUp();
      const old = await fullJson();
      const before = clock.now();
      for (const step of [
        { kind: 'grant', server: 5, hours: null },
        { kind: 'grant', server: 6, hours: 2 },
        { kind: 'revoke', pick: 0 },
        { kind: 'renew', pick: 3 },
        { kind: 'suspend', server: 1 },
        { kind: 'reactivate', server: 2 },
      ] as Command[]) {
        await run(step);
      }
      expect(clock.now()).toEqual(before);
      await caughtUp();
      const latest = await fullJson();
      const delta = await t.http.get('/v1/allowlist/changes').query({ since: old.version }).set(bearer(t.keys.filter)).expect(200);
      expect(delta.body.since).toBe(old.version);
      expect(delta.body.version).toBe(latest.version);
      // The client's side: drop what was removed, add what was added if in effect at the new list's instant, keep the order.
      const now = new Date(latest.body.generatedAt);
      const entries = new Map(old.body.entries.map((entry) => [entry.exceptionId, entry]));
      for (const id of delta.body.removed as string[]) entries.delete(id);
      for (const added of delta.body.added as (JsonEntry & { startsAt: string })[]) {
        if (new Date(added.startsAt) <= now && now < new Date(added.expiresAt)) {
          const { startsAt: _startsAt, ...entry } = added;
          entries.set(entry.exceptionId, entry);
        }
      }
      const byHeloThenId = (a: JsonEntry, b: JsonEntry) =>
        String(a.heloHostname) < String(b.heloHostname) ? -1 : String(a.heloHostname) > String(b.heloHostname) ? 1 : a.exceptionId < b.exceptionId ? -1 : 1;
      const rebuilt = [...entries.values()].filter((entry) => new Date(entry.expiresAt) > now).sort(byHeloThenId);
      expect(rebuilt).toEqual(latest.body.entries);
      expect(delta.body.added.length + delta.body.removed.length).toBeGreaterThan(0);

      const nothing = await t.http.get('/v1/allowlist/changes').query({ since: latest.version }).set(bearer(t.keys.filter)).expect(200);
      expect(nothing.body).toMatchObject({ since: latest.version, version: latest.version, added: [], removed: [] });
    });

    it('answers 410 problem+json when the change log no longer reaches back, 400 for a bad or future version', async () => {
      await caughtUp();
      await run({ kind: 'grant', server: 8, hours: null });
      await run({ kind: 'renew', pick: 1 });
      await caughtUp();
      const version = await dbVersion();
      await new FeedChangeLog(t.prisma).prune(new Date(Date.now() + DAY), 1_000_000);
      const gone = await t.http.get('/v1/allowlist/changes').query({ since: '1' }).set(bearer(t.keys.auditor)).expect(410);
      expect(gone.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(gone.body).toMatchObject({ status: 410, type: 'urn:helopass:problem:gone' });
      expect(gone.body.detail).toMatch(/fetch the whole list/);
      // The latest version is always kept: a client one version behind still gets its delta.
      await t.http.get('/v1/allowlist/changes').query({ since: String(version - 1n) }).set(bearer(t.keys.filter)).expect(200);
      for (const since of ['abc', '-1', '1.5', '99999999999999999999']) {
        const bad = await t.http.get('/v1/allowlist/changes').query({ since }).set(bearer(t.keys.filter)).expect(400);
        expect(bad.body.errors).toEqual([{ field: 'since', message: expect.any(String) }]);
        expect(bad.body.detail).not.toContain(since);
      }
      await t.http.get('/v1/allowlist/changes').set(bearer(t.keys.filter)).expect(400);
      const ahead = await t.http.get('/v1/allowlist/changes').query({ since: String(version + 5n) }).set(bearer(t.keys.filter)).expect(400);
      expect(ahead.body.detail).toMatch(/newer than the current version/);
      await t.http.get('/v1/allowlist/changes').query({ since: '0' }).set(bearer(t.keys.csr)).expect(403);
      await t.http.get('/v1/allowlist/changes').query({ since: '0' }).expect(401);
    });
  });
});
