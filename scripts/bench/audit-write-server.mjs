// Child process of bench:audit-writes: one HeloPass API process (createApp
// from dist/, the whole pipeline) on DATABASE_URL, chaining audit events as
// told by AUDIT_BENCH_MODE:
//   after-commit  the product: events linked into the chain right after commit
//   off           no chaining at all (events are still written): the baseline
//   lock          the former design: one global lock taken in every write's
//                 transaction and held until it commits
// It mints an admin key and reports { type: 'ready', port, key } to its parent.
import 'reflect-metadata';
import { childMain, importDist } from './lib.mjs';

const FORMER_CHAIN_LOCK = 72_0402_2;

childMain(async ({ onStop }) => {
  const { loadConfig } = await importDist('libs/config/src/index.js');
  const { createApp } = await importDist('apps/api/src/bootstrap.js');
  const { ApiKeysService } = await importDist('libs/access/src/index.js');
  const { AuditChainService, AuditLog } = await importDist('libs/database/src/index.js');
  const config = loadConfig({
    RATE_LIMIT_PER_MINUTE: '1000000',
    ...process.env,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    RUN_WORKER: 'false',
  });
  const app = await createApp(config);
  onStop(() => app.close());
  const mode = process.env.AUDIT_BENCH_MODE ?? 'after-commit';
  if (mode === 'off' || mode === 'lock') {
    app.get(AuditChainService).enabled = false;
  }
  if (mode === 'lock') {
    const log = app.get(AuditLog);
    const append = log.append.bind(log);
    log.append = async (tx, entry) => {
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${FORMER_CHAIN_LOCK})`);
      await tx.$queryRawUnsafe('SELECT 1 FROM audit_chain ORDER BY position DESC LIMIT 1');
      return append(tx, entry);
    };
  }
  const { key } = await app
    .get(ApiKeysService)
    .create({ name: `bench admin ${process.pid}`, role: 'admin', owner: 'bench@example.test' }, { id: null, name: 'bench', role: 'system', owner: null });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send({ type: 'ready', port: app.getHttpServer().address().port, key });
});
