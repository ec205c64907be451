#!/usr/bin/env node
// A stand-in for the HeloPass allowlist feed, used by scripts/mailhost/verify.sh
// to check what rspamd (and a sync step) really send, without running the API.
//
//   node scripts/mailhost/feed-stub.mjs --dir DIR --key KEY [--port 8808] [--log FILE] [--public-key-out FILE]
//
// Serves DIR/<rendering> (postfix-cidr, postfix-helo, rspamd-ip, rspamd-helo)
// at /v1/allowlist/<rendering> on 127.0.0.1 only, the way the feed does:
// `Authorization: Bearer KEY` or HTTP Basic with any user name and KEY as the
// password; strong ETag, Last-Modified, HEAD with the same validators,
// If-None-Match / If-Modified-Since -> 304, no Expires header. The body is
// re-read on every request, so a test can change a file to simulate a change.
// Every body carries X-Allowlist-Signature (base64), and `<rendering>.sig`
// answers the raw 64-byte Ed25519 signature of the body (ETag
// `"<body tag>.sig"`), signed with a key made at start-up;
// /v1/allowlist/signing-key answers its public key as {"base64": …, "pem": …},
// and --public-key-out writes the PEM to a file before the stub listens: the
// out-of-band copy a mail host's sync agent is given.
// Every request is logged as one JSON line (method, path, auth scheme, user,
// conditional headers, status) to --log (default stdout).
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

function arg(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const dir = arg('dir');
const key = arg('key');
const port = Number(arg('port', '8808'));
const logFile = arg('log');
const publicKeyOut = arg('public-key-out');
if (!dir || !key) {
  console.error('usage: feed-stub.mjs --dir DIR --key KEY [--port 8808] [--log FILE] [--public-key-out FILE]');
  process.exit(2);
}
const signingKey = generateKeyPairSync('ed25519');
const publicRaw = signingKey.publicKey.export({ format: 'jwk' }).x;
const publicKeyJson = JSON.stringify({
  algorithm: 'ed25519',
  base64: Buffer.from(publicRaw, 'base64url').toString('base64'),
  pem: signingKey.publicKey.export({ format: 'pem', type: 'spki' }),
});
if (publicKeyOut) writeFileSync(publicKeyOut, signingKey.publicKey.export({ format: 'pem', type: 'spki' }));
const RENDERINGS = new Set(['postfix-cidr', 'postfix-helo', 'rspamd-ip', 'rspamd-helo']);

function log(entry) {
  const line = JSON.stringify({ at: new Date().toISOString(), ...entry }) + '\n';
  if (logFile) appendFileSync(logFile, line);
  else process.stdout.write(line);
}

/** Which credentials the request carried, and whether they are good. */
function authenticate(header) {
  if (!header) return { scheme: 'none', ok: false };
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme.toLowerCase() === 'bearer') return { scheme: 'bearer', ok: value === key };
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon === -1 ? decoded : decoded.slice(0, colon);
    const password = colon === -1 ? '' : decoded.slice(colon + 1);
    return { scheme: 'basic', user, ok: password === key };
  }
  return { scheme: scheme.toLowerCase(), ok: false };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://feed');
  const auth = authenticate(req.headers.authorization);
  const entry = {
    method: req.method,
    path: url.pathname,
    auth: auth.scheme,
    user: auth.user,
    authOk: auth.ok,
    ifNoneMatch: req.headers['if-none-match'],
    ifModifiedSince: req.headers['if-modified-since'],
    userAgent: req.headers['user-agent'],
  };
  const finish = (status, headers = {}, body) => {
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    log({ ...entry, status });
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return finish(405, { allow: 'GET, HEAD' });
  if (!auth.ok) {
    return finish(401, { 'www-authenticate': 'Bearer, Basic realm="helopass"', 'content-type': 'text/plain' }, 'unauthorized\n');
  }
  if (url.pathname === '/v1/allowlist/signing-key') {
    return finish(200, { 'content-type': 'application/json' }, publicKeyJson);
  }
  const match = /^\/v1\/allowlist\/([a-z-]+)(\.sig)?$/.exec(url.pathname);
  if (!match || !RENDERINGS.has(match[1])) return finish(404, { 'content-type': 'text/plain' }, 'not found\n');
  const file = join(dir, match[1]);
  let body;
  let mtime;
  try {
    body = readFileSync(file);
    mtime = statSync(file).mtime;
  } catch {
    return finish(404, { 'content-type': 'text/plain' }, 'not found\n');
  }
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const lastModified = new Date(Math.floor(mtime.getTime() / 1000) * 1000);
  const validators = {
    etag,
    'last-modified': lastModified.toUTCString(),
    'cache-control': 'no-cache',
    'x-helopass-feed-version': '1',
  };
  if (match[2]) {
    const signature = sign(null, body, signingKey.privateKey);
    return finish(200, { etag: `${etag.slice(0, -1)}.sig"`, 'content-type': 'application/octet-stream' }, signature);
  }
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const notModified = inm
    ? inm.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')
    : ims !== undefined && !Number.isNaN(Date.parse(ims)) && lastModified.getTime() <= Date.parse(ims);
  if (notModified) return finish(304, validators);
  return finish(
    200,
    {
      ...validators,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(body.length),
      'x-allowlist-signature': sign(null, body, signingKey.privateKey).toString('base64'),
    },
    body,
  );
});

server.listen(port, '127.0.0.1', () => log({ listening: `127.0.0.1:${port}`, dir }));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
