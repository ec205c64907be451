import { expect, it } from 'vitest';
import { startTestApp } from './support/test-app.js';

// A spec of its own: the app's log stream is per process (nestjs-pino keeps one root logger).
it('warns at start-up when no DNS blocklist is configured: the FAQ condition is then not checked', async () => {
  const t = await startTestApp();
  try {
    await expect
      .poll(() => t.logs.lines.filter((line) => line.includes('no DNS blocklist is configured')).map((line) => JSON.parse(line).level))
      .toEqual([40]);
  } finally {
    await t.close();
  }
});
