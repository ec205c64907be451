import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('metrics settings', () => {
  it('no metrics listener unless a port is set; loopback unless METRICS_HOST says otherwise', () => {
    expect(loadConfig({}).metrics).toEqual({ host: '127.0.0.1', apiPort: undefined, policyPort: undefined, workerPort: undefined });
    expect(loadConfig({ METRICS_PORT: '9464', POLICY_METRICS_PORT: '9465', WORKER_METRICS_PORT: '9466', METRICS_HOST: '::' }).metrics).toEqual({
      host: '::',
      apiPort: 9464,
      policyPort: 9465,
      workerPort: 9466,
    });
  });

  it('refuses a host that is not an address, a port out of range, and two processes on one port', () => {
    expect(() => loadConfig({ METRICS_HOST: 'metrics.example' })).toThrow(new ConfigError('METRICS_HOST must be an IP address (127.0.0.1 by default; 0.0.0.0 or :: for every interface)'));
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT must be a whole number between 0 and 65535/);
    expect(() => loadConfig({ METRICS_PORT: '9464', WORKER_METRICS_PORT: '9464' })).toThrow(/must differ/);
    // 0 (any free port) may repeat: each process gets its own.
    expect(loadConfig({ METRICS_PORT: '0', POLICY_METRICS_PORT: '0' }).metrics.policyPort).toBe(0);
  });
});
