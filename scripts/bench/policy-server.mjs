// Child process of the policy benchmark: one policy responder on a free
// loopback port, reporting { type: 'ready', port, rss } to its parent.
//   --kind=helopass --size=N   HeloPass's own listener, protocol reader and
//                              matcher (dist/libs/policy), the matcher fed the
//                              benchmark's N exceptions directly (benchEntries,
//                              the rows seedExceptions() would insert), and the
//                              usage counter on the way of every decision
//   --kind=bare --answers=F    the ceiling: node:net, the same framing (a request
//                              ends at an empty line) and the same answer bytes,
//                              looked up by the request's text in a table (F, JSON)
//                              computed from HeloPass's answers; no parsing, no matching
// Answers { type: 'rss' } with { type: 'rss', rss } (after a GC when exposed).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { benchEntries, childMain, importDist, parseArgs } from './lib.mjs';

childMain(async ({ onStop }) => {
  const args = parseArgs();
  let server;
  if (args.kind === 'helopass') {
    const { PolicyListener, PolicyMatcher, UsageCounter } = await importDist('libs/policy/src/index.js');
    const matcher = new PolicyMatcher();
    matcher.onFull(benchEntries(Number(args.size)), 1n);
    const usage = new UsageCounter({ apply: async () => undefined });
    const listener = new PolicyListener(
      (request) => {
        const now = Date.now();
        const matched = matcher.match(request.heloName, request.clientAddress, now);
        for (const entry of matched) {
          usage.record(entry.exceptionId, now);
        }
        return matched.length > 0;
      },
      { maxConnections: 1000, maxRequestBytes: 8192, idleTimeoutMs: 600_000, requestTimeoutMs: 10_000 },
      { malformed: (remote, reason) => console.error(`malformed from ${remote}: ${reason}`), refused: () => undefined },
    );
    const address = await listener.listen('127.0.0.1', 0);
    onStop(() => listener.close());
    server = { port: address.port };
  } else {
    const table = new Map(Object.entries(JSON.parse(readFileSync(String(args.answers), 'utf8'))));
    const bare = createServer({ noDelay: true }, (socket) => {
      let pending = '';
      socket.on('error', () => socket.destroy());
      socket.on('data', (chunk) => {
        pending += chunk.toString('latin1');
        let out = '';
        let start = 0;
        for (let end = pending.indexOf('\n\n'); end !== -1; end = pending.indexOf('\n\n', start)) {
          out += table.get(pending.slice(start, end)) ?? 'action=DUNNO\n\n';
          start = end + 2;
        }
        pending = pending.slice(start);
        if (out.length > 0) {
          socket.write(out, 'latin1');
        }
      });
    });
    await new Promise((resolve) => bare.listen(0, '127.0.0.1', resolve));
    onStop(() => new Promise((resolve) => bare.close(resolve)));
    server = { port: bare.address().port };
  }
  process.on('message', (message) => {
    if (message?.type === 'rss') {
      globalThis.gc?.();
      process.send({ type: 'rss', rss: process.memoryUsage().rss });
    }
  });
  globalThis.gc?.();
  process.send({ type: 'ready', port: server.port, rss: process.memoryUsage().rss });
});
