import 'reflect-metadata';
import { ConfigError, loadConfig } from '@app/config';
import { resolveDatabase } from '@app/database';
import { startWorker } from './worker.js';

/** The worker on its own (`npm run start:worker`): for deployments that scale it apart from the API. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`HeloPass worker cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const database = await resolveDatabase(config, (line) => console.log(`[helopass-worker] ${line}`));
  const worker = await startWorker({ ...config, databaseUrl: database.connectionString }).catch(async (error: unknown) => {
    await database.stop();
    throw error;
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) {
      return;
    }
    stopping = true;
    await worker.stop();
    await database.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error('HeloPass worker failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
