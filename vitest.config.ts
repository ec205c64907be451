import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  // NestJS DI and class-validator need decorator metadata.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  resolve: {
    alias: {
      '@app/access': lib('access'),
      '@app/config': lib('config'),
      '@app/database': lib('database'),
      '@app/domain': lib('domain'),
      '@app/dns': lib('dns'),
      '@app/ownership': lib('ownership'),
      '@app/exceptions': lib('exceptions'),
      '@app/enforcement': lib('enforcement'),
      '@app/registry': lib('registry'),
      '@app/worker': lib('worker'),
      '@app/runtime': lib('runtime'),
      '@app/notifications': lib('notifications'),
      '@app/policy': lib('policy'),
      '@app/metrics': lib('metrics'),
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'console/**/*.spec.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
