import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:browser`: the console driven end to end by a real headless
 * Chromium (Debian's `chromium`; CHROMIUM_PATH to use another), on the same
 * database set-up as the e2e specs. Kept out of `npm test`, which needs no browser.
 */
export default defineConfig({
  oxc: base.oxc,
  resolve: base.resolve,
  test: {
    include: ['test/browser/**/*.browser-spec.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // A real browser adds timing of its own (paint, focus, network); one more
    // try keeps a single hiccup from failing CI, while anything that breaks
    // for real fails both tries. Each try makes its own organizations.
    retry: 1,
  },
});
