import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseFeedPublicKeys } from './feed-signature.js';
import type { HookCommand } from './run-command.js';
import { describeOutcome, SyncAgent, type SyncOptions } from './sync-agent.js';
import { nextDelay } from './sync-loop.js';
import { loadSyncState, stateFileOf } from './sync-state.js';

const KEY = 'k3y_SECRET-abcdefghijklmnopqrstuvwxyz012345';
const feedKey = generateKeyPairSync('ed25519');
const otherKey = generateKeyPairSync('ed25519');
const publicKeys = parseFeedPublicKeys(feedKey.publicKey.export({ format: 'pem', type: 'spki' }).toString());

function body(version: number, addresses: string[]): Buffer {
  const count = `${addresses.length} ${addresses.length === 1 ? 'entry' : 'entries'}`;
  return Buffer.from(
    `# HeloPass allowlist postfix-cidr: version ${version}, as of 2026-11-28T12:00:00.000Z, ${count}\n# note\n` +
      addresses.map((address) => `${address} OK\n`).join(''),
  );
}

/**
 * A feed on 127.0.0.1 that answers from `current` the way HeloPass does
 * (ETag, 304, gzip on request, X-Allowlist-Signature or `.sig`) and can be
 * told to misbehave; it records every request.
 */
function feedServer() {
  const feed = {
    current: body(1, []),
    status: 200,
    /** how the signature travels: with the body, only as `.sig`, with the body but by another key, or not at all */
    signature: 'header' as 'header' | 'sig' | 'forged' | 'none',
    gzip: true,
    /** no Content-Length: the body streams in chunks */
    chunked: false,
    requests: [] as Array<{ path: string; headers: IncomingHttpHeaders }>,
    etag: () => `"${createHash('sha256').update(feed.current).digest('hex').slice(0, 16)}"`,
    signatureOf: (bytes: Buffer) => sign(null, bytes, (feed.signature === 'forged' ? otherKey : feedKey).privateKey),
    url: new URL('http://127.0.0.1/v1/allowlist/postfix-cidr'),
    server: createServer((request, response) => {
      feed.requests.push({ path: request.url ?? '', headers: request.headers });
      if (feed.status === 0) {
        return; // never answers
      }
      if (feed.status !== 200) {
        response.writeHead(feed.status, { 'content-type': 'text/plain' }).end('oops');
      } else if (request.url?.endsWith('.sig') && feed.signature === 'none') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      } else if (request.url?.endsWith('.sig')) {
        response.writeHead(200, { etag: `${feed.etag().slice(0, -1)}.sig"` }).end(feed.signatureOf(feed.current));
      } else if (request.headers['if-none-match'] === feed.etag()) {
        response.writeHead(304).end();
      } else {
        const headers: Record<string, string> = { etag: feed.etag(), 'last-modified': 'Sat, 28 Nov 2026 12:00:00 GMT' };
        if (feed.signature === 'header' || feed.signature === 'forged') {
          headers['x-allowlist-signature'] = feed.signatureOf(feed.current).toString('base64');
        }
        const gzip = feed.gzip && /gzip/.test(request.headers['accept-encoding'] ?? '');
        const bytes = gzip ? gzipSync(feed.current) : feed.current;
        if (gzip) {
          headers['content-encoding'] = 'gzip';
        }
        if (feed.chunked) {
          response.writeHead(200, headers);
          for (let offset = 0; offset < bytes.length; offset += 4096) {
            response.write(bytes.subarray(offset, offset + 4096));
          }
          response.end();
        } else {
          response.writeHead(200, { ...headers, 'content-length': String(bytes.length) }).end(bytes);
        }
      }
    }),
  };
  return feed;
}

describe('SyncAgent', () => {
  let dir: string;
  let file: string;
  let hooks: HookCommand[];
  const feed = feedServer();
  const okHooks = async (command: HookCommand) => {
    hooks.push(command);
    return { ok: true, detail: '' };
  };
  const agent = (options: Partial<SyncOptions> = {}, runHook = okHooks) =>
    new SyncAgent(
      {
        url: feed.url,
        rendering: 'postfix-cidr',
        key: KEY,
        file,
        publicKeys,
        maxBytes: 64 * 1024,
        allowRollback: false,
        postmap: false,
        hookTimeoutMs: 5000,
        timeoutMs: 2000,
        ...options,
      },
      { runHook },
    );
  /** The map file and its state, byte for byte, to show a refusal left both alone. */
  const snapshot = async () => ({
    file: await readFile(file).catch(() => undefined),
    state: await readFile(stateFileOf(file)).catch(() => undefined),
    mtimeMs: (await stat(file).catch(() => undefined))?.mtimeMs,
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => feed.server.listen(0, '127.0.0.1', resolve));
    feed.url.port = String((feed.server.address() as AddressInfo).port);
  });
  afterAll(async () => {
    await new Promise((resolve) => feed.server.close(resolve));
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helopass-sync-'));
    file = join(dir, 'helopass_cidr');
    hooks = [];
    Object.assign(feed, { current: body(1, []), status: 200, signature: 'header', gzip: true, chunked: false, requests: [] });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, then answers unchanged through a conditional GET, then follows a change', async () => {
    const sync = agent({ reloadCommand: 'postfix reload' });
    expect(await sync.sync()).toEqual({ status: 'changed', version: '1', entries: 0, hooks: ['reload'] });
    expect(await readFile(file)).toEqual(feed.current);
    expect(feed.requests[0]!.headers).toMatchObject({ authorization: `Bearer ${KEY}`, 'accept-encoding': 'gzip' });
    // The signature came with the body: no second request.
    expect(feed.requests).toHaveLength(1);

    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'not modified', hooks: [] });
    expect(feed.requests[1]!.headers['if-none-match']).toBe(feed.etag());

    feed.current = body(2, ['192.0.2.10/32']);
    expect(await sync.sync()).toMatchObject({ status: 'changed', version: '2', entries: 1 });
    expect(await readFile(file, 'utf8')).toContain('192.0.2.10/32 OK');
    expect(hooks).toEqual([{ shell: 'postfix reload' }, { shell: 'postfix reload' }]);
    expect(await loadSyncState(file)).toMatchObject({ version: '2', pendingApply: false });
  });

  it('leaves the file alone when only the header changed (another rendering moved the version)', async () => {
    const sync = agent({ reloadCommand: 'postfix reload' });
    await sync.sync();
    const written = await readFile(file);
    feed.current = body(9, []);
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'same entries', version: '9', hooks: [] });
    expect(await readFile(file)).toEqual(written);
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'not modified' });
    expect(hooks).toHaveLength(1);
  });

  it('does not trust the validators once the file was edited by hand', async () => {
    await agent().sync();
    await writeFile(file, 'edited\n');
    expect(await agent().sync()).toMatchObject({ status: 'changed' });
    expect(feed.requests[1]!.headers['if-none-match']).toBeUndefined();
    expect(await readFile(file)).toEqual(feed.current);
  });

  it('keeps the file on 5xx, on a foreign body and on a truncated one, never naming the key', async () => {
    await agent().sync();
    const before = await snapshot();
    feed.status = 503;
    const failed = await agent().sync();
    expect(failed).toEqual({ status: 'error', reason: 'the feed answered HTTP 503' });
    feed.status = 200;
    feed.current = Buffer.from('<html>captive portal</html>\n');
    expect(await agent().sync()).toMatchObject({ status: 'refused', reason: expect.stringContaining('not a HeloPass text rendering') });
    feed.current = Buffer.from(body(3, ['192.0.2.1/32', '192.0.2.2/32']).toString().replace('192.0.2.2/32 OK\n', ''));
    expect(await agent().sync()).toMatchObject({ status: 'refused', reason: expect.stringContaining('truncated') });
    expect(await snapshot()).toEqual(before);
    expect(describeOutcome(failed, file)).not.toContain(KEY);
  });

  it('gives up on a feed that does not answer within --timeout, keeping the file', async () => {
    await agent().sync();
    const before = await snapshot();
    feed.status = 0;
    expect(await agent({ timeoutMs: 1000 }).sync()).toEqual({ status: 'error', reason: 'no complete answer within 1s' });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a body with a line outside the grammar and says which, keeping file and state', async () => {
    await agent().sync();
    const before = await snapshot();
    feed.current = body(2, ['192.0.2.10/32', '0.0.0.0/0']);
    const refused = await agent().sync();
    expect(refused).toEqual({
      status: 'refused',
      reason: 'line 4 "0.0.0.0/0 OK" is not a network HeloPass grants: prefix is wider than /16, the widest a mail server may hold',
    });
    expect(describeOutcome(refused, file)).toBe(`refused ${file}: ${(refused as { reason: string }).reason}; the current file is kept`);
    expect(await snapshot()).toEqual(before);
  });

  it('runs postmap before the reload, skips the reload when postmap fails, and retries both next time', async () => {
    let postmapWorks = false;
    const flaky = async (command: HookCommand) => {
      hooks.push(command);
      return 'program' in command && !postmapWorks ? { ok: false, detail: 'exit status 1' } : { ok: true, detail: '' };
    };
    const sync = agent({ postmap: true, reloadCommand: 'postfix reload' }, flaky);
    const failed = await sync.sync();
    expect(failed).toMatchObject({ status: 'error', replacedWith: '1', reason: expect.stringContaining('postmap failed') });
    expect(hooks).toEqual([{ program: 'postmap', args: [file] }]);
    expect((await loadSyncState(file))?.pendingApply).toBe(true);

    postmapWorks = true;
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', why: 'not modified', hooks: ['postmap', 'reload'] });
    expect((await loadSyncState(file))?.pendingApply).toBe(false);
    expect(await sync.sync()).toMatchObject({ status: 'unchanged', hooks: [] });
  });

  describe('signature', () => {
    it('checks the X-Allowlist-Signature that came with the body, before anything is written', async () => {
      feed.signature = 'forged';
      feed.current = body(2, ['192.0.2.66/32']);
      expect(await agent().sync()).toEqual({ status: 'refused', reason: 'bad signature: the body is not signed by the given --public-key' });
      expect(await snapshot()).toEqual({ file: undefined, state: undefined, mtimeMs: undefined });
    });

    it('falls back to <url>.sig when the body came without one', async () => {
      feed.signature = 'sig';
      expect(await agent().sync()).toMatchObject({ status: 'changed' });
      expect(feed.requests.map((request) => request.path)).toEqual([feed.url.pathname, `${feed.url.pathname}.sig`]);
      const other = parseFeedPublicKeys(otherKey.publicKey.export({ format: 'pem', type: 'spki' }).toString());
      feed.current = body(2, ['192.0.2.66/32']);
      expect(await agent({ publicKeys: other as KeyObject[] }).sync()).toMatchObject({ status: 'refused', reason: expect.stringContaining('bad signature') });
      expect(await readFile(file, 'utf8')).not.toContain('192.0.2.66');
    });

    it('during a key rotation accepts a body signed by the current or the next key, and refuses any other key', async () => {
      const pem = (key: KeyObject) => key.export({ format: 'pem', type: 'spki' }).toString();
      const overlap = [feedKey.publicKey, otherKey.publicKey].map((key) => parseFeedPublicKeys(pem(key))[0]!);
      feed.signature = 'header'; // signed by the current key
      expect(await agent({ publicKeys: overlap }).sync()).toMatchObject({ status: 'changed', version: '1' });
      feed.signature = 'forged'; // signed by otherKey: here, the next key
      feed.current = body(2, ['192.0.2.67/32']);
      expect(await agent({ publicKeys: overlap }).sync()).toMatchObject({ status: 'changed', version: '2' });
      expect(await readFile(file, 'utf8')).toContain('192.0.2.67/32');

      const outsider = generateKeyPairSync('ed25519');
      const before = await snapshot();
      feed.current = body(3, ['192.0.2.68/32']);
      const signatureOf = feed.signatureOf;
      feed.signatureOf = (bytes: Buffer) => sign(null, bytes, outsider.privateKey);
      try {
        expect(await agent({ publicKeys: overlap }).sync()).toEqual({
          status: 'refused',
          reason: 'bad signature: the body is not signed by any of the 2 given public keys',
        });
      } finally {
        feed.signatureOf = signatureOf;
      }
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a body that came unsigned (no header, no .sig)', async () => {
      feed.signature = 'none';
      expect(await agent().sync()).toEqual({
        status: 'refused',
        reason: 'the body came unsigned: no X-Allowlist-Signature header, and <url>.sig answered HTTP 404',
      });
      expect(await snapshot()).toEqual({ file: undefined, state: undefined, mtimeMs: undefined });
    });

    it('names a captive-portal page as such, not as a bad signature', async () => {
      feed.signature = 'none';
      feed.current = Buffer.from('<html>Please log in</html>\n');
      expect(await agent().sync()).toMatchObject({ status: 'refused', reason: expect.stringContaining('(not a HeloPass text rendering)') });
      expect(feed.requests).toHaveLength(1);
    });

    it('with --unsigned writes without a check and says so in every line', async () => {
      feed.signature = 'forged';
      const outcome = await agent({ publicKeys: null }).sync();
      expect(outcome).toEqual({ status: 'changed', version: '1', entries: 0, hooks: [], unsigned: true });
      expect(describeOutcome(outcome, file)).toBe(`changed ${file}: version 1, 0 entries; signature NOT checked (--unsigned)`);
      expect(describeOutcome(await agent({ publicKeys: null }).sync(), file)).toMatch(/unchanged .*\(not modified\); signature NOT checked/);
    });
  });

  describe('size cap', () => {
    const large = () => body(5, Array.from({ length: 4000 }, (_, index) => `10.${Math.floor(index / 256)}.${index % 256}.0/24`));

    it('refuses a body over --max-bytes as sent (Content-Length) and as received (chunked), keeping the file', async () => {
      await agent().sync();
      const before = await snapshot();
      feed.current = large();
      feed.gzip = false;
      expect(feed.current.length).toBeGreaterThan(64 * 1024);
      expect(await agent().sync()).toEqual({ status: 'refused', reason: `the body is ${feed.current.length} bytes as sent, over the --max-bytes cap of 65536` });
      feed.chunked = true;
      expect(await agent().sync()).toEqual({ status: 'refused', reason: 'the body is over the --max-bytes cap of 65536 bytes as received' });
      expect(await snapshot()).toEqual(before);
      expect(await agent({ maxBytes: 1024 * 1024 }).sync()).toMatchObject({ status: 'changed', entries: 4000 });
    });

    it('refuses a gzip body that inflates past the cap, though small on the wire', async () => {
      await agent().sync();
      const before = await snapshot();
      feed.current = large();
      expect(gzipSync(feed.current).length).toBeLessThan(64 * 1024);
      const refused = await agent().sync();
      expect(refused).toMatchObject({ status: 'refused', reason: expect.stringMatching(/^the body inflates to more than the --max-bytes cap of 65536 bytes after gunzip \(\d+ bytes as received\)$/) });
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('version floor', () => {
    it('refuses a replayed older body, keeping file and state; accepts the same version; --allow-rollback lets it in', async () => {
      feed.current = body(5, ['192.0.2.10/32']);
      await agent().sync();
      const before = await snapshot();
      feed.current = body(4, ['192.0.2.10/32', '192.0.2.66/32']);
      expect(await agent().sync()).toEqual({
        status: 'refused',
        reason:
          'the body is version 4, older than version 5 this host already holds (a replayed old body would bring revoked entries back); --allow-rollback accepts it deliberately',
      });
      expect(await snapshot()).toEqual(before);

      const rolledBack = await agent({ allowRollback: true }).sync();
      expect(rolledBack).toEqual({ status: 'changed', version: '4', entries: 2, hooks: [], rolledBackFrom: '5' });
      expect(describeOutcome(rolledBack, file)).toContain('; rolled back from version 5 (--allow-rollback)');
      expect(await loadSyncState(file)).toMatchObject({ version: '4' });
      expect(await agent().sync()).toMatchObject({ status: 'unchanged', why: 'not modified' });
    });

    it('keeps the floor from the state when the file was edited, and from the file header when the state is gone', async () => {
      feed.current = body(5, ['192.0.2.10/32']);
      await agent().sync();
      await writeFile(file, 'edited by hand\n');
      feed.current = body(4, []);
      expect(await agent().sync()).toMatchObject({ status: 'refused', reason: expect.stringContaining('older than version 5') });

      await writeFile(file, body(5, ['192.0.2.10/32']));
      await unlink(stateFileOf(file));
      expect(await agent().sync()).toMatchObject({ status: 'refused', reason: expect.stringContaining('older than version 5') });
      expect(await readFile(file)).toEqual(body(5, ['192.0.2.10/32']));
    });
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
