import { createPublicKey, verify } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowlistHistory, SnapshotStore } from '@app/enforcement';
import { ManualClock } from '@app/domain';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import nacl from 'tweetnacl';
import { bearer, startIsolatedTestApp, startTestApp, type TestApp } from './support/test-app.js';

const DAY = 86_400_000;

/** Keeps a response body as the bytes that arrived (signatures are binary). */
function rawBytes(res: any, done: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

describe('allowlist feed', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  const clock = new ManualClock(new Date('2026-11-28T12:00:00.000Z'));

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' }, clock);
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  const store = () => t.app.get(SnapshotStore);
  async function settled(version: number) {
    await expect.poll(() => Number(store().current()?.version ?? -1), { timeout: 5000 }).toBeGreaterThanOrEqual(version);
  }
  const feedVersion = async () => Number((await t.prisma.feedState.findUniqueOrThrow({ where: { id: 1 } })).version);

  it('serves every rendering with a header, never empty, to filters by Bearer or Basic', async () => {
    const empty = await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    expect(empty.text).toMatch(/^# HeloPass allowlist postfix-cidr: version \d+, as of .*, 0 entries\n/);
    const basic = Buffer.from(`rspamd:${t.keys.filter.key}`).toString('base64');
    await t.http.get('/v1/allowlist/rspamd-ip').set({ authorization: `Basic ${basic}` }).expect(200);
    await t.http.get('/v1/allowlist/rspamd-ip').expect(401);
    await t.http.get('/v1/allowlist/nonsense').set(bearer(t.keys.filter)).expect(404);
  });

  it('follows a grant within moments: lines, validators, 304, HEAD, gzip, signature', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['192.0.2.10', '2001:db8:5::/64'] });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'fix pending' }).expect(201);
    // The prefix rests on SPF alone: a second person accepts it.
    expect(granted.body.approvalReasons).toEqual(['spf_only']);
    await t.http.post(`/v1/exceptions/${granted.body.id}/approve`).set(bearer(t.keys.csr2)).expect(200);
    await settled(await feedVersion());
    const response = await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    expect(response.text.split('\n').filter((line) => !line.startsWith('#'))).toEqual(['192.0.2.10/32 OK', '2001:db8:5::/64 OK', '']);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.headers.expires).toBeUndefined();
    expect(response.headers['x-allowlist-version']).toBe(String(await feedVersion()));
    const { etag } = response.headers;
    const lastModified = response.headers['last-modified'];

    await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).set('if-none-match', etag!).expect(304);
    await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).set('if-modified-since', lastModified!).expect(304);
    const head = await t.http.head('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    expect(head.headers.etag).toBe(etag);
    expect(head.headers['last-modified']).toBe(lastModified);

    const gzipped = await t.http
      .get('/v1/allowlist/postfix-cidr')
      .set(bearer(t.keys.filter))
      .set('accept-encoding', 'gzip')
      .buffer(true)
      .parse(rawBytes)
      .expect(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');

    const signature = await t.http
      .get('/v1/allowlist/postfix-cidr.sig')
      .set(bearer(t.keys.filter))
      .buffer(true)
      .parse(rawBytes)
      .expect(200);
    expect((signature.body as Buffer).length).toBe(64);
    expect(Buffer.from(response.headers['x-allowlist-signature']!, 'base64').equals(signature.body as Buffer)).toBe(true);
    const key = await t.http.get('/v1/allowlist/signing-key').set(bearer(t.keys.filter)).expect(200);
    const body = Buffer.from(response.text, 'utf8');
    expect(verify(null, body, createPublicKey(key.body.pem), signature.body as Buffer)).toBe(true);
    // The client undoes the gzip; what arrived compressed is the same bytes.
    expect((gzipped.body as Buffer).equals(body)).toBe(true);
    expect(Number(gzipped.headers['content-length'])).toBe(gzipSync(body).length);
  });

  it('drops an exception at the exact instant it expires', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['198.51.100.77'] });
    const expiresAt = new Date(clock.now().getTime() + DAY);
    await t.http
      .post('/v1/exceptions')
      .set(bearer(t.keys.csr))
      .send({ mailServerId: server.mailServerId, reason: 'one day', expiresAt: expiresAt.toISOString() })
      .expect(201);
    await settled(await feedVersion());
    const start = clock.now();
    try {
      clock.set(new Date(expiresAt.getTime() - 1));
      store().rerender();
      expect((await t.http.get('/v1/allowlist/rspamd-ip').set(bearer(t.keys.filter))).text).toContain('198.51.100.77/32');
      clock.set(expiresAt);
      store().rerender();
      expect((await t.http.get('/v1/allowlist/rspamd-ip').set(bearer(t.keys.filter))).text).not.toContain('198.51.100.77/32');
    } finally {
      clock.set(start);
      store().rerender();
    }
  });

  it('answers ?asOf= with the list exactly as it stood then (auditors and admins only)', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['203.0.113.99'] });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'history' }).expect(201);
    clock.advance(60_000);
    const between = clock.now();
    clock.advance(60_000);
    await t.http.post(`/v1/exceptions/${granted.body.id}/revoke`).set(bearer(t.keys.csr)).send({ reason: 'done' }).expect(200);
    clock.advance(60_000);
    const after = clock.now();
    const at = (instant: Date, key = t.keys.auditor) =>
      t.http.get('/v1/allowlist/rspamd-ip').query({ asOf: instant.toISOString() }).set(bearer(key));
    expect((await at(between).expect(200)).text).toContain('203.0.113.99/32');
    expect((await at(after).expect(200)).text).not.toContain('203.0.113.99/32');
    const json = await t.http.get('/v1/allowlist').query({ asOf: between.toISOString() }).set(bearer(t.keys.admin)).expect(200);
    expect(json.body.entries.map((entry: { exceptionId: string }) => entry.exceptionId)).toContain(granted.body.id);
    await at(between, t.keys.filter).expect(403);
    await t.http.get('/v1/allowlist/rspamd-ip').query({ asOf: 'yesterday' }).set(bearer(t.keys.auditor)).expect(400);

    // Answered from a snapshot of the history and the events after it: the same bytes as from the whole trail.
    const replayed = await Promise.all([between, after].map(async (instant) => (await at(instant).expect(200)).text));
    const history = t.app.get(AllowlistHistory);
    await history.snapshot(new Date(between.getTime() - 30_000));
    expect((await history.at(after)).cost.snapshotCutAt).toEqual(new Date(between.getTime() - 30_000));
    expect(await Promise.all([between, after].map(async (instant) => (await at(instant).expect(200)).text))).toEqual(replayed);
    await history.snapshot(between);
    expect((await history.at(after)).cost.snapshotCutAt).toEqual(between);
    expect(await Promise.all([between, after].map(async (instant) => (await at(instant).expect(200)).text))).toEqual(replayed);
  });

  it('Last-Modified grows with every change, even several in one second; HEAD carries the same validators', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const server = await provenMailServer(t, dns, { addresses: [`198.18.${i}.1`] });
      await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'fast changes' }).expect(201);
      await settled(await feedVersion());
      const head = await t.http.head('/v1/allowlist/rspamd-ip').set(bearer(t.keys.filter)).expect(200);
      const get = await t.http.get('/v1/allowlist/rspamd-ip').set(bearer(t.keys.filter)).expect(200);
      expect(head.headers.etag).toBe(get.headers.etag);
      expect(head.headers['last-modified']).toBe(get.headers['last-modified']);
      seen.push(Date.parse(get.headers['last-modified']!));
    }
    expect(seen[1]!).toBeGreaterThan(seen[0]!);
    expect(seen[2]!).toBeGreaterThan(seen[1]!);
  });

  it('propagates a grant made through one app instance to the feed of another, and signs what tweetnacl verifies', async () => {
    const other = await startTestApp({ DATABASE_URL: t.databaseUrl, DNS_RESOLVERS: dns.address }, clock);
    try {
      const server = await provenMailServer(t, dns, { addresses: ['192.0.2.222'] });
      await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'two processes' }).expect(201);
      await expect
        .poll(async () => (await other.http.get('/v1/allowlist/postfix-cidr').set(bearer(other.keys.filter))).text, { timeout: 3000, interval: 50 })
        .toContain('192.0.2.222/32 OK');
      const body = await other.http.get('/v1/allowlist/postfix-cidr').set(bearer(other.keys.filter)).expect(200);
      const signature = await other.http
        .get('/v1/allowlist/postfix-cidr.sig')
        .set(bearer(other.keys.filter))
        .buffer(true)
        .parse(rawBytes)
        .expect(200);
      const key = (await other.http.get('/v1/allowlist/signing-key').set(bearer(other.keys.filter)).expect(200)).body;
      // Both instances sign with the one key kept in the database.
      expect((await t.http.get('/v1/allowlist/signing-key').set(bearer(t.keys.filter))).body.base64).toBe(key.base64);
      const ok = nacl.sign.detached.verify(Buffer.from(body.text, 'utf8'), signature.body as Buffer, Buffer.from(key.base64, 'base64'));
      expect(ok).toBe(true);
      const tampered = Buffer.from(body.text.replace('192.0.2.222', '192.0.2.223'), 'utf8');
      expect(nacl.sign.detached.verify(tampered, signature.body as Buffer, Buffer.from(key.base64, 'base64'))).toBe(false);
    } finally {
      await other.close();
    }
  });
});
