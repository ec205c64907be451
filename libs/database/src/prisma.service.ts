import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { HeloPassMetrics } from '@app/metrics';
import { connectionOptions } from './connection-options.js';
import { PrismaClient } from './generated/prisma/client.js';

export { Prisma } from './generated/prisma/client.js';

/**
 * The one Prisma client of a process, over the `pg` driver adapter, with the
 * connection, statement, lock and idle-transaction limits of the config. The
 * pool is made here (and ended with the client) so that its use can be read
 * for the metrics.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(HELOPASS_CONFIG) config: HeloPassConfig, @Optional() metrics?: HeloPassMetrics) {
    if (config.databaseUrl === undefined) {
      throw new Error('DATABASE_URL must be resolved before the database module starts');
    }
    const pool = new pg.Pool({ ...connectionOptions(config.databaseUrl, config.database), max: 10 });
    super({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
    metrics?.watchDatabasePool(() => pool);
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}

/** A client bound to one transaction, handed to repositories. */
export type Transaction = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];
