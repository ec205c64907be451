import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig, type HeloPassConfig } from '@app/config';
import { withDatabase } from '@app/runtime';
import { CliModule } from './cli.module.js';

/** What commands share: output, and a Nest context on the same database the app would use. */
export interface CliRuntime {
  print(line: string): void;
  /** A line on standard error (warnings, progress). */
  warn(line: string): void;
  config(): HeloPassConfig;
  withApp<T>(work: (app: INestApplicationContext) => Promise<T>): Promise<T>;
}

export function createRuntime(): CliRuntime {
  let config: HeloPassConfig | undefined;
  const runtime: CliRuntime = {
    print: (line) => process.stdout.write(line + '\n'),
    warn: (line) => process.stderr.write(line + '\n'),
    config: () => (config ??= loadConfig()),
    async withApp(work) {
      return withDatabase(runtime.config(), (line) => process.stderr.write(`[helopass] ${line}\n`), async (config) => {
        const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: ['error', 'warn'] });
        try {
          return await work(app);
        } finally {
          await app.close();
        }
      });
    },
  };
  return runtime;
}
