// Child process of bench:mixed: one HeloPass API process built as `npm start`
// builds it (createApp from dist/, the whole pipeline, audit events chained
// right after commit), on 127.0.0.1 and a free port, with DATABASE_URL and
// DNS_RESOLVERS from the environment. It mints the keys the load needs — a
// csr key per writer (each its own person), an auditor key and a filter key —
// and reports { type: 'ready', port, csrKeys, auditorKey, filterKey }.
import 'reflect-metadata';
import { childMain, createBenchApi, importDist } from './lib.mjs';

childMain(async ({ onStop }) => {
  const { ApiKeysService } = await importDist('libs/access/src/index.js');
  const app = await createBenchApi(onStop);
  const keys = app.get(ApiKeysService);
  const system = { id: null, name: 'bench', role: 'system', owner: null };
  const writers = Number(process.env.BENCH_WRITERS ?? 20);
  const csrKeys = [];
  for (let i = 0; i < writers; i += 1) {
    csrKeys.push((await keys.create({ name: `bench csr ${i}`, role: 'csr', owner: `csr${i}@bench.example` }, system)).key);
  }
  const auditorKey = (await keys.create({ name: 'bench auditor', role: 'auditor', owner: 'auditor@bench.example' }, system)).key;
  const filterKey = (await keys.create({ name: 'bench filter', role: 'filter' }, system)).key;
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send({ type: 'ready', port: app.getHttpServer().address().port, csrKeys, auditorKey, filterKey });
});
