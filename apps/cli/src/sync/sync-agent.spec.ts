import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkFeedBody } from './feed-body.js';
import { parseFeedPublicKey } from './feed-signature.js';
import type { HookCommand } from './run-command.js';
import { describeOutcome, SyncAgent, type SyncOptions } from './sync-agent.js';
import { nextDelay } from './sync-loop.js';
import { loadSyncState } from './sync-state.js';

const URL_CIDR = new URL('https://feed.test/v1/allowlist/postfix-cidr');
const KEY = 'k3y_SECRET-abcdefghijklmnopqrstuvwxyz012345';

function body(version: number, addresses: string[]): Buffer {
  const count = `${addresses.length} ${addresses.length === 1 ? 'entry' : 'entries'}`;
  return Buffer.from(
    `# HeloPass allowlist postfix-cidr: version ${version}, as of 2026-11-28T12:00:00.000Z, ${count}\n# note\n` +
      addresses.map((address) => `${address} OK\n`).join(''),
  );
}

/** A scripted feed: answers from `current`, honouring If-None-Match, and records requests. */
function fakeFeed(signer?: (bytes: Buffer) => Buffer) {
  const feed = {
    current: body(1, []),
    status: 200,
    requests: [] as Array<{ url: string; headers: Record<string, string> }>,
    etag: () => `"${createHash('sha256').update(feed.current).digest('hex').slice(0, 16)}"`,
    fetch: async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>));
      feed.requests.push({ url: String(input), headers });
      if (feed.status !== 200) {
        return new Response('oops', { status: feed.status });
      }
      if (String(input).endsWith('.sig')) {
        const signature = signer ? signer(feed.current) : Buffer.alloc(64);
        return new Response(signature, { headers: { etag: `${feed.etag().slice(0, -1)}.sig"` } });
      }
      if (headers['if-none-match'] === feed.etag()) {
        return new Response(null, { status: 304 });
      }
      return new Response(feed.current, { headers: { etag: feed.etag(), 'last-modified': 'Sat, 28 Nov 2026 12:00:00 GMT' } });
    },
  };
  return feed;
}

describe('SyncAgent', () => {
  let dir: string;
  let file: string;
  let hooks: HookCommand[];
  const okHooks = async (command: HookCommand) => {
    hooks.push(command);
    return { ok: true, detail: '' };
  };
  const agent = (feed: ReturnType<typeof fakeFeed>, options: Partial<SyncOptions> = {}, runHook = okHooks) =>
    new SyncAgent({ url: URL_CIDR, key: KEY, file, postmap: false, timeoutMs: 2000, ...options }, { fetch: feed.fetch, runHook });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helopass-sync-'));
    file = join(dir, 'helopass_cidr');
    hooks = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, then answers unchanged through a conditional GET, then follows a change', async () => {
    const feed = fakeFeed();
    const sync = agent(feed, { reloadCommand: 'postfix reload' });
    expect(await sync.sync()).toMatchObject({ status: 'changed', version: '1', entries: 0, hooks: ['reload'] });
    expect(await readFile(file)).toEqual(feed.current);
    expect(feed.requests[0]!.headers).toMatchObject({ authorization: `Bearer ${KEY}`, 'accept-encoding': 'gzip' });

    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'not modified', hooks: [] });
    expect(feed.requests[1]!.headers['if-none-match']).toBe(feed.etag());

    feed.current = body(2, ['192.0.2.10/32']);
    expect(await sync.sync()).toMatchObject({ status: 'changed', version: '2', entries: 1 });
    expect(await readFile(file, 'utf8')).toContain('192.0.2.10/32 OK');
    expect(hooks).toEqual([{ shell: 'postfix reload' }, { shell: 'postfix reload' }]);
  });

  it('leaves the file alone when only the header changed (another rendering moved the version)', async () => {
    const feed = fakeFeed();
    const sync = agent(feed, { reloadCommand: 'postfix reload' });
    await sync.sync();
    const written = await readFile(file);
    feed.current = body(9, []);
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'same entries', version: '9', hooks: [] });
    expect(await readFile(file)).toEqual(written);
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'not modified' });
    expect(hooks).toHaveLength(1);
  });

  it('does not trust the validators once the file was edited by hand', async () => {
    const feed = fakeFeed();
    await agent(feed).sync();
    await writeFile(file, 'edited\n');
    expect(await agent(feed).sync()).toMatchObject({ status: 'changed' });
    expect(feed.requests[1]!.headers['if-none-match']).toBeUndefined();
    expect(await readFile(file)).toEqual(feed.current);
  });

  it('keeps the file on 5xx, on a foreign body and on a truncated one, never naming the key', async () => {
    const feed = fakeFeed();
    await agent(feed).sync();
    const before = await stat(file);
    feed.status = 503;
    const failed = await agent(feed).sync();
    expect(failed).toMatchObject({ status: 'error', reason: 'the feed answered HTTP 503' });
    feed.status = 200;
    feed.current = Buffer.from('<html>captive portal</html>\n');
    expect(await agent(feed).sync()).toMatchObject({ status: 'error', reason: expect.stringContaining('refused') });
    feed.current = Buffer.from(body(3, ['192.0.2.1/32', '192.0.2.2/32']).toString().replace('192.0.2.2/32 OK\n', ''));
    expect(await agent(feed).sync()).toMatchObject({ status: 'error', reason: expect.stringContaining('truncated') });
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    expect(describeOutcome(failed, file)).not.toContain(KEY);
  });

  it('runs postmap before the reload, skips the reload when postmap fails, and retries both next time', async () => {
    const feed = fakeFeed();
    let postmapWorks = false;
    const flaky = async (command: HookCommand) => {
      hooks.push(command);
      return 'program' in command && !postmapWorks ? { ok: false, detail: 'exit status 1' } : { ok: true, detail: '' };
    };
    const sync = agent(feed, { postmap: true, reloadCommand: 'postfix reload' }, flaky);
    const failed = await sync.sync();
    expect(failed).toMatchObject({ status: 'error', replacedWith: '1', reason: expect.stringContaining('postmap failed') });
    expect(hooks).toEqual([{ program: 'postmap', args: [file] }]);
    expect((await loadSyncState(file))?.pendingApply).toBe(true);

    postmapWorks = true;
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'not modified', hooks: ['postmap', 'reload'] });
    expect((await loadSyncState(file))?.pendingApply).toBe(false);
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', hooks: [] });
  });

  it('accepts a body signed by the given key and refuses one signed by another', async () => {
    const good = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const raw = good.publicKey.export({ format: 'jwk' }).x!;
    const publicKey = parseFeedPublicKey(Buffer.from(raw, 'base64url').toString('base64'));
    expect(await agent(fakeFeed((bytes) => sign(null, bytes, good.privateKey)), { publicKey }).sync()).toMatchObject({ status: 'changed' });
    const forged = fakeFeed((bytes) => sign(null, bytes, other.privateKey));
    forged.current = body(2, ['192.0.2.66/32']);
    expect(await agent(forged, { publicKey }).sync()).toMatchObject({ status: 'error', reason: expect.stringContaining('bad signature') });
    expect(await readFile(file, 'utf8')).not.toContain('192.0.2.66');
  });
});

describe('parseFeedPublicKey', () => {
  it('takes base64, PEM, or a file holding either, and refuses other text', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    expect(parseFeedPublicKey(raw).equals(publicKey)).toBe(true);
    expect(parseFeedPublicKey(pem).equals(publicKey)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'helopass-key-'));
    try {
      await writeFile(join(dir, 'feed.pub'), pem);
      expect(parseFeedPublicKey(join(dir, 'feed.pub')).equals(publicKey)).toBe(true);
    } finally {
      await rm(dir, { recursive: true });
    }
    expect(() => parseFeedPublicKey('not-a-key')).toThrow(/neither/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => parseFeedPublicKey(rsa)).toThrow(/rsa key, not Ed25519/);
  });
});

describe('checkFeedBody', () => {
  it('reads the header and refuses a body of another rendering', () => {
    expect(checkFeedBody(body(7, ['192.0.2.1/32']), 'postfix-cidr')).toEqual({
      rendering: 'postfix-cidr',
      version: '7',
      asOf: '2026-11-28T12:00:00.000Z',
      entries: 1,
    });
    expect(() => checkFeedBody(body(7, []), 'postfix-helo')).toThrow(/not postfix-helo/);
    expect(() => checkFeedBody(Buffer.alloc(0), undefined)).toThrow(/empty/);
  });
});

describe('nextDelay', () => {
  it('waits the interval after success and backs off exponentially, capped, with jitter downwards', () => {
    expect(nextDelay(30_000, 0)).toBe(30_000);
    expect(nextDelay(30_000, 1, () => 0)).toBe(30_000);
    expect(nextDelay(30_000, 3, () => 0)).toBe(120_000);
    expect(nextDelay(30_000, 50, () => 0)).toBe(600_000);
    expect(nextDelay(30_000, 50, () => 1)).toBe(480_000);
    expect(nextDelay(3_600_000, 5, () => 0)).toBe(3_600_000);
  });
});
