import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:drills`: the failures production meets, each drilled on real
 * processes (the built apps in dist/), a real PostgreSQL and a real DNS
 * server, each bounded in time: a worker killed mid-job, SIGTERM while work
 * is in flight, PostgreSQL stopped under load. Kept out of `npm test`: each
 * drill waits out real timeouts (heartbeats, an outage of tens of seconds).
 */
export default defineConfig({
  oxc: base.oxc,
  resolve: base.resolve,
  test: {
    include: ['test/drills/**/*.drill-spec.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Drills measure time: one at a time, so that none waits behind another's load.
    fileParallelism: false,
  },
});
