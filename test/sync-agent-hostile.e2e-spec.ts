import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = 'dist/apps/cli/src/main.js';
const FILTER_KEY = 'hp_hostileFeedTestKeyhostileFeedTestKey0';

interface Run {
  code: number | null;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr });
    });
  });
}

function body(version: number, lines: string[], eol = '\n'): Buffer {
  const count = `${lines.length} ${lines.length === 1 ? 'entry' : 'entries'}`;
  return Buffer.from(
    [`# HeloPass allowlist postfix-cidr: version ${version}, as of 2026-11-28T12:00:00.000Z, ${count}`, '# note', ...lines.map((line) => `${line} OK`)]
      .map((line) => line + eol)
      .join(''),
  );
}

const feedKey = generateKeyPairSync('ed25519');
const otherKey = generateKeyPairSync('ed25519');

interface Scenario {
  body: Buffer;
  signedBy: 'feed' | 'other' | 'nobody';
  gzip?: boolean;
}

/** What a hostile or broken feed, or someone in the middle, might answer; each under /<name>/v1/allowlist/postfix-cidr. */
const scenarios: Record<string, Scenario> = {
  current: { body: body(5, ['192.0.2.10/32']), signedBy: 'feed' },
  unsigned: { body: body(6, ['192.0.2.10/32', '192.0.2.66/32']), signedBy: 'nobody' },
  forged: { body: body(6, ['192.0.2.10/32', '192.0.2.66/32']), signedBy: 'other' },
  // 6 000 lines, about 110 kB, sent as it is: over a 64 kB cap on the wire.
  oversize: { body: body(6, Array.from({ length: 6000 }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`)), signedBy: 'feed' },
  // About 16 MB of comment lines that gzip to a few kB: under the cap on the wire, far over it inflated.
  bomb: { body: Buffer.concat([body(6, []), Buffer.from(`# ${'x'.repeat(78)}\n`.repeat(200_000))]), signedBy: 'feed', gzip: true },
  // An older body, genuinely signed: a replay that would bring 192.0.2.66 back.
  replay: { body: body(3, ['192.0.2.10/32', '192.0.2.66/32']), signedBy: 'feed' },
  // Signed, yet outside the grammar (a signer that went wrong): still refused.
  widened: { body: body(7, ['0.0.0.0/0']), signedBy: 'feed' },
  crlf: { body: body(7, ['192.0.2.10/32'], '\r\n'), signedBy: 'feed' },
};

describe('feed sync agent against a hostile feed over HTTPS', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let caFile: string;
  let publicKeyFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helopass-sync-hostile-'));
    caFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    // A self-signed certificate for 127.0.0.1; the agent trusts it through NODE_EXTRA_CA_CERTS, as a private CA would be.
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', caFile,
    ]);
    publicKeyFile = join(dir, 'feed.pub');
    await writeFile(publicKeyFile, feedKey.publicKey.export({ format: 'pem', type: 'spki' }));
    server = createServer({ key: await readFile(keyFile), cert: await readFile(caFile) }, (request, response) => {
      const match = /^\/([a-z]+)\/v1\/allowlist\/postfix-cidr(\.sig)?$/.exec(request.url ?? '');
      const scenario = match ? scenarios[match[1]!] : undefined;
      if (!scenario || request.headers.authorization !== `Bearer ${FILTER_KEY}`) {
        response.writeHead(404).end();
        return;
      }
      const signature = scenario.signedBy === 'nobody' ? undefined : sign(null, scenario.body, (scenario.signedBy === 'feed' ? feedKey : otherKey).privateKey);
      if (match![2]) {
        response.writeHead(signature ? 200 : 404).end(signature);
        return;
      }
      const sent = scenario.gzip ? gzipSync(scenario.body) : scenario.body;
      response.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': String(sent.length),
        ...(scenario.gzip ? { 'content-encoding': 'gzip' } : {}),
        ...(signature ? { 'x-allowlist-signature': signature.toString('base64') } : {}),
      });
      response.end(sent);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const sync = (file: string, scenario: string, extra: string[] = [], env: Record<string, string> = { NODE_EXTRA_CA_CERTS: caFile }) =>
    cli(['sync', '--url', `${base}/${scenario}/v1/allowlist/postfix-cidr`, '--out', file, '--public-key', publicKeyFile, '--max-bytes', '64k', '--once', ...extra], {
      HELOPASS_SYNC_KEY: FILTER_KEY,
      ...env,
    });

  it('checks the server certificate: an untrusted one ends the sync before a request is sent', async () => {
    const file = join(dir, 'untrusted_cidr');
    const run = await sync(file, 'current', [], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error .*untrusted_cidr: cannot reach the feed: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/);
    expect(await stat(file).catch(() => 'absent')).toBe('absent');
  });

  it('refuses every hostile body with exit status 3, saying why, leaving file and state byte for byte as they were', async () => {
    const file = join(dir, 'helopass-client.cidr');
    const first = await sync(file, 'current');
    expect(first).toMatchObject({ code: 0, stderr: expect.stringMatching(/changed .*: version 5, 1 entry\n$/) });
    expect(await readFile(file)).toEqual(scenarios.current!.body);
    const kept = { file: await readFile(file), state: await readFile(`${file}.helopass-sync.json`), mtimeMs: (await stat(file)).mtimeMs };

    const reasons: Record<string, string | RegExp> = {
      unsigned: 'the body came unsigned: no X-Allowlist-Signature header, and <url>.sig answered HTTP 404',
      forged: 'bad signature: the body is not signed by the given --public-key',
      oversize: `the body is ${scenarios.oversize!.body.length} bytes as sent, over the --max-bytes cap of 65536`,
      bomb: /^the body inflates to more than the --max-bytes cap of 65536 bytes after gunzip \(\d+ bytes as received\)$/,
      replay: 'the body is version 3, older than version 5 this host already holds (a replayed old body would bring revoked entries back); --allow-rollback accepts it deliberately',
      widened: 'line 3 "0.0.0.0/0 OK" is not a network HeloPass grants: prefix is wider than /16, the widest a mail server may hold',
      crlf: 'line 1 holds a carriage return (CR); HeloPass writes printable ASCII lines ended by LF only',
    };
    for (const [scenario, reason] of Object.entries(reasons)) {
      const run = await sync(file, scenario);
      expect({ scenario, code: run.code }).toEqual({ scenario, code: 3 });
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      const said = lines[0]!.replace(/^\S+ helopass sync: refused .*helopass-client\.cidr: /, '').replace(/; the current file is kept$/, '');
      expect(said).toMatch(typeof reason === 'string' ? new RegExp(`^${reason.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) : reason);
      expect(run.stderr).not.toContain(FILTER_KEY);
      expect(await readFile(file)).toEqual(kept.file);
      expect(await readFile(`${file}.helopass-sync.json`)).toEqual(kept.state);
      expect((await stat(file)).mtimeMs).toBe(kept.mtimeMs);
    }

    // The deliberate case: an operator rolls back on purpose, for one run.
    const rolledBack = await sync(file, 'replay', ['--allow-rollback']);
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stderr).toMatch(/changed .*: version 3, 2 entries; rolled back from version 5 \(--allow-rollback\)\n$/);
    expect(await readFile(file)).toEqual(scenarios.replay!.body);
  });
});
