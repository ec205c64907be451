import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '@app/config';
import { startPolicyServer, type RunningPolicyServer } from '@app/policy';
import { PolicyConnection, policyRequest } from './support/policy-client.js';
import { LogCapture } from './support/test-app.js';

// The only app of this file, so that its log lines reach this capture (nestjs-pino keeps the process's first logger).
describe('policy server connection limits', () => {
  let server: RunningPolicyServer;
  const logs = new LogCapture();
  const open: PolicyConnection[] = [];

  beforeAll(async () => {
    const config = loadConfig({
      DATABASE_URL: inject('databaseUrl'),
      SNAPSHOT_DIR: 'off',
      LOG_LEVEL: 'info',
      POLICY_MAX_CONNECTIONS: '3',
      POLICY_IDLE_TIMEOUT_SECONDS: '1',
    });
    server = await startPolicyServer(config, { port: 0, logStream: logs });
  });
  afterAll(async () => {
    open.forEach((connection) => connection.close());
    await server?.stop();
  });

  it('closes an idle connection after POLICY_IDLE_TIMEOUT_SECONDS', async () => {
    const idle = await PolicyConnection.open(server.port);
    open.push(idle);
    expect(await idle.ask('x.example', '198.51.100.1')).toBe('DUNNO');
    const answeredAt = Date.now();
    await idle.untilClosed(5000);
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(900);
  });

  it('refuses connections past POLICY_MAX_CONNECTIONS, and takes new ones once some close', async () => {
    const held = await Promise.all([1, 2, 3].map(() => PolicyConnection.open(server.port)));
    open.push(...held);
    for (const connection of held) {
      expect(await connection.ask('x.example', '198.51.100.1')).toBe('DUNNO');
    }
    const extra = await PolicyConnection.open(server.port);
    open.push(extra);
    extra.send(policyRequest('x.example', '198.51.100.1'));
    await extra.untilClosed();
    expect(extra.text).toBe('');
    await expect.poll(() => logs.text).toContain('too many open');
    held[0]!.close();
    await expect.poll(() => server.connections()).toBeLessThan(3);
    const next = await PolicyConnection.open(server.port);
    open.push(next);
    expect(await next.ask('x.example', '198.51.100.1')).toBe('DUNNO');
  });
});
