// Child process of the feed benchmark: the baseline. It serves the very bytes
// the HeloPass feed served (read from --dir, fetched from the feed by the
// parent) with the same response headers and the same conditional-request
// and gzip logic as AllowlistService, and a plain Bearer check, but nothing
// else: no framework, no guard, no request log.
//   --kind=http     bare node:http (the baseline of the target)
//   --kind=fastify  a bare Fastify route (diagnostics only: the framework's share)
// Reports { type: 'ready', port } to its parent; stops on SIGTERM. Takes the
// same profile-start / profile-stop messages as feed-server.mjs.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { childMain, installProfilerHooks, parseArgs } from './lib.mjs';

installProfilerHooks();

// The same two functions as apps/api/src/allowlist/allowlist.service.ts.
function matchesAny(header, etag) {
  if (header.trim() === '*') {
    return true;
  }
  const bare = (tag) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => bare(tag) === bare(etag));
}

function acceptsGzip(header) {
  return header !== undefined && /(?:^|,)\s*gzip\s*(?:;\s*q\s*=\s*(?!0(?:\.0*)?\s*(?:,|$))[\d.]+)?\s*(?:,|$)/i.test(header);
}

function notModified(headers, etag, lastModifiedMs) {
  if (headers['if-none-match'] !== undefined) {
    return matchesAny(headers['if-none-match'], etag);
  }
  if (headers['if-modified-since'] !== undefined) {
    const since = Date.parse(headers['if-modified-since']);
    return !Number.isNaN(since) && lastModifiedMs <= since;
  }
  return false;
}

childMain(async ({ onStop }) => {
  const args = parseArgs();
  const dir = String(args.dir);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const body = readFileSync(join(dir, 'body'));
  const gzip = readFileSync(join(dir, 'body.gz'));
  const authorization = `Bearer ${meta.key}`;

  /** status, headers and body of one request, exactly as the feed decides them. */
  function respond(method, url, headers) {
    if (url !== meta.path) {
      return { status: 404, headers: {}, body: undefined };
    }
    if (headers.authorization !== authorization) {
      return { status: 401, headers: {}, body: undefined };
    }
    const out = {
      etag: meta.etag,
      'last-modified': meta.lastModified,
      'x-allowlist-version': meta.version,
      'cache-control': 'no-cache',
      vary: 'Accept-Encoding',
    };
    if (notModified(headers, meta.etag, meta.lastModifiedMs)) {
      return { status: 304, headers: out, body: undefined };
    }
    out['content-type'] = meta.contentType;
    if (acceptsGzip(headers['accept-encoding'])) {
      out['content-encoding'] = 'gzip';
      return { status: 200, headers: out, body: method === 'HEAD' ? undefined : gzip, length: gzip.length };
    }
    return { status: 200, headers: out, body: method === 'HEAD' ? undefined : body, length: body.length };
  }

  let port;
  if (args.kind === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false });
    app.get(meta.path, (request, reply) => {
      const answer = respond(request.method, request.url, request.headers);
      void reply.status(answer.status).headers(answer.headers);
      return reply.send(answer.body);
    });
    onStop(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = app.server.address().port;
  } else {
    const server = createServer({ keepAliveTimeout: 72_000 }, (request, response) => {
      const answer = respond(request.method, request.url, request.headers);
      if (answer.length !== undefined) {
        answer.headers['content-length'] = answer.length;
      }
      response.writeHead(answer.status, answer.headers);
      response.end(answer.body);
    });
    onStop(() => new Promise((done) => server.close(() => done())));
    onStop(async () => server.closeAllConnections());
    await new Promise((listening) => server.listen(0, '127.0.0.1', listening));
    port = server.address().port;
  }
  process.send({ type: 'ready', port });
});
