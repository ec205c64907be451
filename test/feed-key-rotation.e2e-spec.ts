import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rspamdBase32 } from '@app/enforcement';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { runSyncAgent } from './support/sync-agent.js';
import { bearer, startIsolatedTestApp, startTestApp, type TestApp } from './support/test-app.js';

interface PublishedKey {
  algorithm: string;
  base64: string;
  pem: string;
  rspamd: string;
}

const seed = () => randomBytes(32).toString('base64');

/** What `GET /v1/allowlist/signing-key` publishes, and the feed body with its detached signature. */
async function published(app: TestApp): Promise<{ key: PublishedKey & { next: PublishedKey | null }; body: Buffer; signature: Buffer }> {
  const key = (await app.http.get('/v1/allowlist/signing-key').set(bearer(app.keys.filter)).expect(200)).body;
  const response = await app.http.get('/v1/allowlist/postfix-cidr').set(bearer(app.keys.filter)).expect(200);
  return { key, body: Buffer.from(response.text, 'utf8'), signature: Buffer.from(response.headers['x-allowlist-signature'] as string, 'base64') };
}

const signedBy = (body: Buffer, signature: Buffer, key: PublishedKey) => verify(null, body, createPublicKey(key.pem), signature);

/**
 * Rotating FEED_SIGNING_KEY without a gap (README, "Rotating the feed's
 * signing key"): the next key is staged and published beside the current
 * one, mail hosts trust both, then it is promoted. The sync agent accepts a
 * body signed by either key of the overlap and nothing else.
 */
describe("rotating the feed's signing key", () => {
  const current = seed();
  const next = seed();
  let dns: TestDnsServer;
  let staged: TestApp & { databaseUrl: string };
  let dir: string;

  /** One `helopass-sync --once` against `app` (listening), trusting `trust` (a file or a key each). */
  async function sync(app: TestApp, file: string, trust: string[]) {
    const port = (app.app.getHttpServer().address() as AddressInfo).port;
    return runSyncAgent(['--url', `http://127.0.0.1:${port}/v1/allowlist/postfix-cidr`, '--out', file, '--once', '--timeout', '5s', ...trust.flatMap((key) => ['--public-key', key])], {
      HELOPASS_SYNC_KEY: app.keys.filter.key,
    });
  }

  beforeAll(async () => {
    dns = await startTestDnsServer();
    dir = await mkdtemp(join(tmpdir(), 'helopass-rotation-'));
    staged = await startIsolatedTestApp({
      FEED_SIGNING_KEY: current,
      FEED_SIGNING_KEY_NEXT: next,
      DNS_RESOLVERS: dns.address,
      DNS_TIMEOUT_MS: '300',
      DNS_TRIES: '1',
    });
    await staged.app.listen({ port: 0, host: '127.0.0.1' });
    const server = await provenMailServer(staged, dns, { addresses: ['192.0.2.181'] });
    await staged.http.post('/v1/exceptions').set(bearer(staged.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'key rotation' }).expect(201);
    for (const deadline = Date.now() + 5000; !(await published(staged)).body.toString().includes('192.0.2.181/32 OK'); ) {
      if (Date.now() > deadline) {
        throw new Error('the grant did not reach the feed within 5 s');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await staged?.close();
    await dns?.stop();
    if (dir) {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('publishes the current and the staged key (base64, PEM, rspamd base32), and signs with the current one meanwhile', async () => {
    const { key, body, signature } = await published(staged);
    expect(key.next).not.toBeNull();
    expect(key.base64).not.toBe(key.next!.base64);
    for (const published of [key, key.next!]) {
      expect(published.algorithm).toBe('ed25519');
      expect(published.rspamd).toBe(rspamdBase32(Buffer.from(published.base64, 'base64')));
      expect(createPublicKey(published.pem).export({ format: 'jwk' }).x).toBe(Buffer.from(published.base64, 'base64').toString('base64url'));
    }
    expect(signedBy(body, signature, key)).toBe(true);
    expect(signedBy(body, signature, key.next!)).toBe(false);
  });

  it('the agent trusting both keys accepts the body signed by the current key, then by the promoted one; a third key is refused', async () => {
    const { key } = await published(staged);
    // As the README says: one file on the mail host holding both published keys.
    const both = join(dir, 'feed.pub');
    await writeFile(both, `${key.pem}${key.next!.pem}`);
    const file = join(dir, 'overlap_cidr');

    const before = await sync(staged, file, [both]);
    expect(before).toMatchObject({ code: 0 });
    expect(await readFile(file, 'utf8')).toContain('192.0.2.181/32 OK');

    // Promotion: the processes restart with FEED_SIGNING_KEY=<next> and no FEED_SIGNING_KEY_NEXT.
    const promoted = await startTestApp({ DATABASE_URL: staged.databaseUrl, FEED_SIGNING_KEY: next, DNS_RESOLVERS: dns.address });
    try {
      await promoted.app.listen({ port: 0, host: '127.0.0.1' });
      const after = await published(promoted);
      expect(after.key.base64).toBe(key.next!.base64);
      expect(after.key.rspamd).toBe(key.next!.rspamd);
      expect(after.key.next).toBeNull();
      expect(signedBy(after.body, after.signature, key.next!)).toBe(true);
      expect(signedBy(after.body, after.signature, key)).toBe(false);
      const file2 = join(dir, 'promoted_cidr');
      expect(await sync(promoted, file2, [both])).toMatchObject({ code: 0 });
      expect(await readFile(file2, 'utf8')).toBe(after.body.toString());
      // A host that never took the next key is refused: that is why the overlap comes first.
      const onlyOld = await sync(promoted, join(dir, 'stale_cidr'), [key.base64]);
      expect(onlyOld.code).toBe(3);
      expect(onlyOld.stderr).toContain('bad signature: the body is not signed by the given --public-key');
    } finally {
      await promoted.close();
    }

    // A server signing with a key outside the published set is refused, and nothing is written.
    const impostor = await startTestApp({ DATABASE_URL: staged.databaseUrl, FEED_SIGNING_KEY: seed(), DNS_RESOLVERS: dns.address });
    try {
      await impostor.app.listen({ port: 0, host: '127.0.0.1' });
      const fresh = join(dir, 'impostor_cidr');
      const refused = await sync(impostor, fresh, [key.base64, key.next!.base64]);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('bad signature: the body is not signed by any of the 2 given public keys');
      await expect(readFile(fresh)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await impostor.close();
    }
  });
});
