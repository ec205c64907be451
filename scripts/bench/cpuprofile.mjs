// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by package or
// file, and inclusive time of the functions that matter for the feed.
//   npm exec -- node scripts/bench/cpuprofile.mjs <file.cpuprofile> [--top=25] [--feed]
// (--feed: also the share of each part of the feed's request pipeline)
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, table } from './lib.mjs';

/** Where a frame's code comes from: an npm package, a HeloPass file, Node itself, or V8. */
export function origin(callFrame) {
  const url = callFrame.url ?? '';
  if (url === '') {
    return `(${callFrame.functionName || 'anonymous'})`; // (garbage collector), (program), (idle), natives
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) {
    return pkg[1];
  }
  const own = /\/dist\/(.*)$/.exec(url);
  if (own) {
    return `helopass ${own[1]}`;
  }
  if (url.startsWith('node:')) {
    return url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
  }
  return url;
}

const frameKey = (cf) => `${cf.functionName || '(anonymous)'} ${origin(cf)}:${cf.lineNumber + 1}`;

/**
 * Where a request's time goes, for the feed: each sample goes to the first
 * of these owners found walking its stack from the leaf up; a sample with no
 * owner on its stack goes to the first matching fallback.
 */
export const FEED_BUCKETS = {
  owners: [
    ['socket write syscalls (response)', (cf, url) => /^write(Latin1|Utf8|Ucs2|Ascii)String$|^writev$|^writeBuffer$/.test(cf.functionName) && url === ''],
    ['request logging (pino, pino-http, nestjs-pino)', (_cf, url) => /node_modules\/(pino|pino-http|nestjs-pino|sonic-boom|@pinojs|thread-stream)\//.test(url)],
    ['auth: AuthGuard + ApiKeysService', (_cf, url) => /dist\/(apps\/api\/src\/common\/auth\.guard|libs\/access\/|libs\/domain\/src\/api-key-secret)/.test(url)],
    ['feed handler (controller + AllowlistService)', (_cf, url) => /dist\/apps\/api\/src\/allowlist\//.test(url)],
    ['global interceptors (Idempotency, Etag) + rxjs', (_cf, url) => /dist\/apps\/api\/src\/(idempotency|common\/versioned)|node_modules\/rxjs\/|@nestjs\/core\/interceptors\//.test(url)],
    ['Nest pipeline (router, guards, pipes, params, middleware)', (_cf, url) => /node_modules\/(@nestjs|reflect-metadata)\/|dist\/apps\/api\/src\/bootstrap/.test(url)],
    ['Fastify (+ middie, find-my-way)', (_cf, url) => /node_modules\/(fastify|@fastify|find-my-way|avvio|light-my-request|fast-json-stringify)\//.test(url)],
    ['garbage collection', (cf) => cf.functionName === '(garbage collector)'],
    ['profiler itself', (_cf, url) => url === 'node:inspector' || url.includes('scripts/bench/')],
  ],
  fallbacks: [
    ['Node HTTP parser, net, streams, timers', (_cf, url) => url.startsWith('node:')],
    ['V8 / native (program, microtasks, …)', () => true],
  ],
};

export function summarize(profile, { top = 25, inclusive = [], buckets } = {}) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parent.set(child, node.id);
    }
  }
  const selfByNode = new Map();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + delta);
    total += delta;
    if (byId.get(id).callFrame.functionName === '(idle)') {
      idle += delta;
    }
  });
  const busy = total - idle;
  const selfByOrigin = new Map();
  const selfByFrame = new Map();
  const inclusiveByName = new Map(inclusive.map((name) => [name, 0]));
  for (const [id, time] of selfByNode) {
    const { callFrame } = byId.get(id);
    if (callFrame.functionName === '(idle)') {
      continue;
    }
    selfByOrigin.set(origin(callFrame), (selfByOrigin.get(origin(callFrame)) ?? 0) + time);
    selfByFrame.set(frameKey(callFrame), (selfByFrame.get(frameKey(callFrame)) ?? 0) + time);
    // inclusive: every named function on this sample's stack, counted once
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const cf = byId.get(at).callFrame;
      for (const name of inclusive) {
        if (!seen.has(name) && `${cf.functionName} ${cf.url}`.includes(name)) {
          seen.add(name);
          inclusiveByName.set(name, inclusiveByName.get(name) + time);
        }
      }
    }
  }
  const byBucket = new Map();
  if (buckets) {
    for (const [id, time] of selfByNode) {
      if (byId.get(id).callFrame.functionName === '(idle)') {
        continue;
      }
      let label;
      for (let at = id; at !== undefined && label === undefined; at = parent.get(at)) {
        const cf = byId.get(at).callFrame;
        label = buckets.owners.find(([, test]) => test(cf, cf.url ?? ''))?.[0];
      }
      if (label === undefined) {
        let at = id;
        while (label === undefined && at !== undefined) {
          const cf = byId.get(at).callFrame;
          label = buckets.fallbacks.slice(0, -1).find(([, test]) => test(cf, cf.url ?? ''))?.[0];
          at = parent.get(at);
        }
        label ??= buckets.fallbacks.at(-1)[0];
      }
      byBucket.set(label, (byBucket.get(label) ?? 0) + time);
    }
  }
  const pct = (time) => `${((100 * time) / busy).toFixed(1)} %`;
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    byOrigin: sorted(selfByOrigin)
      .slice(0, top)
      .map(([name, time]) => [name, pct(time)]),
    byFrame: sorted(selfByFrame)
      .slice(0, top)
      .map(([name, time]) => [name, pct(time)]),
    inclusive: [...inclusiveByName].map(([name, time]) => [name, pct(time)]),
    buckets: sorted(byBucket).map(([name, time]) => [name, pct(time)]),
    /** ms of main-thread time per bucket */
    bucketMs: new Map(sorted(byBucket).map(([name, time]) => [name, time / 1000])),
  };
}

export function printSummary(summary) {
  console.log(`busy ${(summary.busyMs / 1000).toFixed(1)} s of ${(summary.totalMs / 1000).toFixed(1)} s sampled`);
  if (summary.buckets.length > 0) {
    console.log('\nwhere the time goes (each sample to the innermost owner on its stack)\n' + table(['part', 'share'], summary.buckets));
  }
  console.log('\nself time by origin (share of busy time)\n' + table(['origin', 'self'], summary.byOrigin));
  console.log('\nself time by function\n' + table(['function', 'self'], summary.byFrame));
  if (summary.inclusive.length > 0) {
    console.log('\ninclusive time (the function and all it calls)\n' + table(['function', 'incl.'], summary.inclusive));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, ...rest] = process.argv.slice(2);
  const args = parseArgs(rest);
  printSummary(summarize(JSON.parse(readFileSync(file, 'utf8')), { top: Number(args.top ?? 25), buckets: args.feed ? FEED_BUCKETS : undefined }));
}
