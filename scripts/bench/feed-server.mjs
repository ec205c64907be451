// Child process of the benchmarks: one HeloPass API process, built exactly as
// `npm start` builds it (createApp from dist/, the whole Nest + Fastify
// pipeline, request logging to stdout), on 127.0.0.1 and a free port.
// Environment: DATABASE_URL (migrated), the usual settings (LOG_LEVEL,
// FEED_POLL_SECONDS, …). It mints a filter key and reports
// { type: 'ready', port, key, startupMs } to its parent; it stops on SIGTERM
// or { type: 'stop' }. { type: 'profile-start' } / { type: 'profile-stop', file }
// record a CPU profile of just that window (no start-up in it).
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { childMain, createBenchApi, importDist, installProfilerHooks } from './lib.mjs';

installProfilerHooks();

childMain(async ({ onStop }) => {
  const started = performance.now();
  const { ApiKeysService } = await importDist('libs/access/src/index.js');
  const app = await createBenchApi(onStop);
  const { key } = await app
    .get(ApiKeysService)
    .create({ name: `bench filter ${process.pid}`, role: 'filter' }, { id: null, name: 'bench', role: 'system', owner: null });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  process.send({ type: 'ready', port: address.port, key, startupMs: performance.now() - started });
});
