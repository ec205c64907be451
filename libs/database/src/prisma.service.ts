import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { connectionOptions } from './connection-options.js';
import { PrismaClient } from './generated/prisma/client.js';

export { Prisma } from './generated/prisma/client.js';

/**
 * The one Prisma client of a process, over the `pg` driver adapter, with the
 * connection, statement, lock and idle-transaction limits of the config.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(HELOPASS_CONFIG) config: HeloPassConfig) {
    if (config.databaseUrl === undefined) {
      throw new Error('DATABASE_URL must be resolved before the database module starts');
    }
    super({ adapter: new PrismaPg({ ...connectionOptions(config.databaseUrl, config.database), max: 10 }) });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}

/** A client bound to one transaction, handed to repositories. */
export type Transaction = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];
