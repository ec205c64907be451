import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { bearer, startIsolatedTestApp, type TestApp } from './support/test-app.js';

const CLI = 'dist/apps/cli/src/main.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI in a child process; resolves with its exit status instead of rejecting. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = async (path: string) => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('feed sync agent: helopass sync', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let base: string;
  let dir: string;
  let filterKey: string;
  /** the feed's public key, as an admin hands it to the mail host out of band */
  let publicKeyFile: string;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'helopass-sync-e2e-'));
    filterKey = t.keys.filter.key;
    const signingKey = (await t.http.get('/v1/allowlist/signing-key').set(bearer(t.keys.admin)).expect(200)).body as { pem: string };
    publicKeyFile = join(dir, 'feed.pub');
    await writeFile(publicKeyFile, signingKey.pem);
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
    if (dir) {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const served = async (rendering: string) =>
    (await t.http.get(`/v1/allowlist/${rendering}`).set(bearer(t.keys.filter)).expect(200)).text;

  /** Grants an active `pair` exception for a fresh proven server and waits until the feed lists it. */
  async function grant(address: string): Promise<void> {
    const server = await provenMailServer(t, dns, { addresses: [address] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'sync agent e2e' }).expect(201);
    await expect.poll(() => served('postfix-cidr'), { timeout: 5000 }).toContain(`${address}/32 OK`);
  }

  /** One `sync --once`; checked against the feed's public key unless `extra` names another key or --unsigned. */
  function sync(file: string, extra: string[] = [], env: Record<string, string> = {}, url = `${base}/v1/allowlist/postfix-cidr`) {
    const trust = extra.includes('--public-key') || extra.includes('--unsigned') ? [] : ['--public-key', publicKeyFile];
    return cli(['sync', '--url', url, '--out', file, '--once', '--timeout', '5s', ...trust, ...extra], { HELOPASS_SYNC_KEY: filterKey, ...env });
  }

  it('writes the served body, answers unchanged through a 304 without touching the file, and reloads once per change', async () => {
    const file = join(dir, 'first_cidr');
    const marker = join(dir, 'first_reloads');
    const reload = ['--reload-cmd', `echo reloaded >> '${marker}'`];

    const first = await sync(file, reload);
    expect(first).toMatchObject({ code: 0, stdout: '' });
    expect(first.stderr).toMatch(/helopass sync: changed .*first_cidr: version \d+, \d+ entr(y|ies); ran reload\n$/);
    expect(await readFile(file, 'utf8')).toBe(await served('postfix-cidr'));
    const state = JSON.parse(await readFile(`${file}.helopass-sync.json`, 'utf8'));
    expect(state).toMatchObject({ url: `${base}/v1/allowlist/postfix-cidr`, etag: expect.stringMatching(/^".+"$/), pendingApply: false });
    expect(JSON.stringify(state)).not.toContain(filterKey);
    expect(await lines(marker)).toEqual(['reloaded']);
    const before = await stat(file);

    const second = await sync(file, reload);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/unchanged .*\(not modified\)\n$/);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    expect(await lines(marker)).toEqual(['reloaded']);

    await grant('192.0.2.41');
    // The key on the command line this time: it must not come back in the output either.
    const third = await cli(['sync', '--url', `${base}/v1/allowlist/postfix-cidr`, '--out', file, '--key', filterKey, '--public-key', publicKeyFile, ...reload]);
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/changed .*first_cidr/);
    expect(await readFile(file, 'utf8')).toBe(await served('postfix-cidr'));
    expect(await readFile(file, 'utf8')).toContain('192.0.2.41/32 OK');
    expect(await lines(marker)).toEqual(['reloaded', 'reloaded']);
    for (const run of [first, second, third]) {
      expect(run.stdout + run.stderr).not.toContain(filterKey);
    }
  });

  it('with --public-key accepts the feed signature and refuses a body the given key did not sign', async () => {
    const signingKey = (await t.http.get('/v1/allowlist/signing-key').set(bearer(t.keys.filter)).expect(200)).body as { base64: string; pem: string };
    const pemFile = publicKeyFile;
    const wrong = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    const file = join(dir, 'signed_cidr');

    expect(await sync(file, ['--public-key', signingKey.base64])).toMatchObject({ code: 0, stderr: expect.stringContaining('changed') });
    expect(await readFile(file, 'utf8')).toBe(await served('postfix-cidr'));
    const kept = await readFile(file, 'utf8');
    const keptAt = (await stat(file)).mtimeMs;

    await grant('192.0.2.42');
    const refused = await sync(file, ['--public-key', wrong]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/refused .*signed_cidr: bad signature: the body is not signed by the given --public-key; the current file is kept/);
    expect(await readFile(file, 'utf8')).toBe(kept);
    expect((await stat(file)).mtimeMs).toBe(keptAt);

    const accepted = await sync(file, ['--public-key', pemFile]);
    expect(accepted).toMatchObject({ code: 0, stderr: expect.stringContaining('changed') });
    expect(await readFile(file, 'utf8')).toContain('192.0.2.42/32 OK');

    const malformed = await sync(join(dir, 'never'), ['--public-key', 'no-such-key-file']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--public-key is neither');
    expect(await stat(join(dir, 'never')).catch(() => 'absent')).toBe('absent');
  });

  it('refuses to start without a public key unless told --unsigned, and then warns on every run', async () => {
    const file = join(dir, 'unsigned_cidr');
    const keyless = await cli(['sync', '--url', `${base}/v1/allowlist/postfix-cidr`, '--out', file, '--once'], { HELOPASS_SYNC_KEY: filterKey });
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain("error: give the feed's public key with --public-key (obtained out of band, see the README), or --unsigned");
    expect(await stat(file).catch(() => 'absent')).toBe('absent');

    const both = await sync(file, ['--unsigned', '--public-key', publicKeyFile]);
    expect(both).toMatchObject({ code: 2, stderr: expect.stringContaining('give either --public-key or --unsigned, not both') });

    for (const expected of [/changed .*unsigned_cidr: .*; signature NOT checked \(--unsigned\)\n$/, /unchanged .*\(not modified\); signature NOT checked/]) {
      const run = await sync(file, ['--unsigned']);
      expect(run.code).toBe(0);
      const [warning, outcome] = run.stderr.trim().split('\n');
      expect(warning).toMatch(/helopass sync: warning: --unsigned: bodies are not signature-checked; whoever can answer for 127\.0\.0\.1:\d+ can write .*unsigned_cidr$/);
      expect(`${outcome}\n`).toMatch(expected);
    }
    expect(await readFile(file, 'utf8')).toBe(await served('postfix-cidr'));
  });

  it('refuses plain http to a host that is not loopback, and the JSON rendering, before sending anything', async () => {
    const file = join(dir, 'never_cidr');
    // 192.0.2.1 (TEST-NET-1) is never contacted: the URL is refused first.
    const cleartext = await sync(file, [], {}, 'http://192.0.2.1/v1/allowlist/postfix-cidr');
    expect(cleartext.code).toBe(2);
    expect(cleartext.stderr).toContain('error: --url uses plain http:// to a host that is not loopback');
    const json = await sync(file, [], {}, `${base}/v1/allowlist`);
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('the JSON rendering is not a map file and is not synced');
    expect(await stat(file).catch(() => 'absent')).toBe('absent');
  });

  it('keeps the current file when the feed is down, answers 503, sends a foreign or empty body, or refuses the key', async () => {
    const file = join(dir, 'kept_cidr');
    const previous = '# HeloPass allowlist postfix-cidr: version 1, as of 2026-01-01T00:00:00.000Z, 1 entry\n# note\n192.0.2.1/32 OK\n';
    await writeFile(file, previous);
    const keptAt = (await stat(file)).mtimeMs;
    const marker = join(dir, 'kept_reloads');
    const reload = ['--reload-cmd', `echo reloaded >> '${marker}'`];

    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const impostor = createServer((request, response) => {
      if (request.url?.startsWith('/unavailable')) {
        response.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
      } else if (request.url?.startsWith('/html')) {
        response.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Please log in</body></html>\n');
      } else {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('');
      }
    });
    const impostorPort = await listen(impostor);
    try {
      const down = await sync(file, reload, {}, `http://127.0.0.1:${closedPort}/v1/allowlist/postfix-cidr`);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/error .*kept_cidr: cannot reach the feed: ECONNREFUSED.*; the current file is kept/);

      const unavailable = await sync(file, reload, {}, `http://127.0.0.1:${impostorPort}/unavailable/postfix-cidr`);
      expect(unavailable.code).toBe(1);
      expect(unavailable.stderr).toContain('the feed answered HTTP 503');

      const html = await sync(file, reload, {}, `http://127.0.0.1:${impostorPort}/html/postfix-cidr`);
      expect(html.code).toBe(3);
      expect(html.stderr).toContain('refused ' + file + ': the body does not start with "# HeloPass allowlist"');

      const empty = await sync(file, reload, {}, `http://127.0.0.1:${impostorPort}/empty/postfix-cidr`);
      expect(empty.code).toBe(3);
      expect(empty.stderr).toContain('refused ' + file + ': the body is empty');

      const unknownKey = 'hp_unknownKEYunknownKEYunknownKEYunknown0';
      const unauthorized = await sync(file, reload, { HELOPASS_SYNC_KEY: unknownKey });
      expect(unauthorized.code).toBe(1);
      expect(unauthorized.stderr).toContain('the feed answered HTTP 401, the key was refused');

      for (const run of [down, unavailable, html, empty, unauthorized]) {
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
        expect(run.stdout + run.stderr).not.toContain(filterKey);
        expect(run.stdout + run.stderr).not.toContain(unknownKey);
      }
      expect(await readFile(file, 'utf8')).toBe(previous);
      expect((await stat(file)).mtimeMs).toBe(keptAt);
      expect(await lines(marker)).toEqual([]);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('with --postmap runs postmap on the file, then the reload; a failed postmap stops the reload until it succeeds', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const calls = join(dir, 'postmap_calls');
    // A stand-in for Postfix's postmap: records its arguments, fails while FAKE_POSTMAP_FAIL is set.
    await writeFile(
      join(bin, 'postmap'),
      `#!/bin/sh\necho "postmap $*" >> '${calls}'\nif [ -n "$FAKE_POSTMAP_FAIL" ]; then echo "postmap: fatal: open database" >&2; exit 1; fi\n`,
    );
    await chmod(join(bin, 'postmap'), 0o755);
    const path = `${bin}:${process.env.PATH ?? ''}`;
    const file = join(dir, 'helo_access');
    const reload = ['--postmap', '--reload-cmd', `echo "reload $HELOPASS_SYNC_FILE" >> '${calls}'`];
    const url = `${base}/v1/allowlist/postfix-helo`;

    const failing = await sync(file, reload, { PATH: path, FAKE_POSTMAP_FAIL: '1' }, url);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/error .*helo_access: replaced with version \d+, but postmap failed \(exit status 1: postmap: fatal: open database\); the reload is not run/);
    expect(await readFile(file, 'utf8')).toBe(await served('postfix-helo'));
    expect(await lines(calls)).toEqual([`postmap ${file}`]);

    const retried = await sync(file, reload, { PATH: path }, url);
    expect(retried.code).toBe(0);
    expect(retried.stderr).toMatch(/unchanged .*helo_access: version \d+ \(not modified\); ran postmap, reload\n$/);
    expect(await lines(calls)).toEqual([`postmap ${file}`, `postmap ${file}`, `reload ${file}`]);

    const quiet = await sync(file, reload, { PATH: path }, url);
    expect(quiet.stderr).toMatch(/unchanged .*\(not modified\)\n$/);
    expect(await lines(calls)).toHaveLength(3);

    // A pair grant bumps the version in every rendering's header, but lists no HELO name:
    // the access map keeps its entries, so neither the file nor Postfix is touched.
    const keptAt = (await stat(file)).mtimeMs;
    await grant('192.0.2.43');
    const sameEntries = await sync(file, reload, { PATH: path }, url);
    expect(sameEntries.code).toBe(0);
    expect(sameEntries.stderr).toMatch(/unchanged .*helo_access: version \d+ \(same entries\)\n$/);
    expect((await stat(file)).mtimeMs).toBe(keptAt);
    expect(await lines(calls)).toHaveLength(3);
    expect(await sync(file, reload, { PATH: path }, url)).toMatchObject({ code: 0, stderr: expect.stringMatching(/\(not modified\)\n$/) });
  });

  it('with --interval keeps syncing until SIGTERM, then exits cleanly', async () => {
    const file = join(dir, 'looped_cidr');
    const child = spawn(process.execPath, [CLI, 'sync', '--url', `${base}/v1/allowlist/rspamd-ip`, '--out', file, '--public-key', publicKeyFile, '--interval', '1s'], {
      env: { ...process.env, HELOPASS_SYNC_KEY: filterKey },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/unchanged .*looped_cidr/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).toMatch(/changed .*looped_cidr/);
    expect(stderr).toContain('SIGTERM: stopping');
    expect(await readFile(file, 'utf8')).toBe(await served('rspamd-ip'));
    expect(stderr).not.toContain(filterKey);
  });
});
