import type { DynamicModule, Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { ConfigModule, loggerOptions, type HeloPassConfig } from '@app/config';
import { DatabaseModule } from './database.module.js';
import type { Clock } from '@app/domain';

/**
 * What every HeloPass process's root module starts with, whatever else it
 * runs: its settings (and the clock the tests drive), its logger under the
 * process's own name, and the database.
 */
export function processFoundation(
  name: string,
  config: HeloPassConfig,
  clock?: Clock,
  logStream?: NodeJS.WritableStream,
): Array<DynamicModule | Type> {
  return [
    ConfigModule.forRoot(config, clock),
    LoggerModule.forRoot(loggerOptions(config.logLevel, logStream, { format: config.logFormat, name })),
    DatabaseModule,
  ];
}
