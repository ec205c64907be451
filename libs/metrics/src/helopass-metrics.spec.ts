import { describe, expect, it } from 'vitest';
import { HeloPassMetrics } from './helopass-metrics.js';
import { startMetricsListener } from './metrics-listener.js';

describe('HeloPassMetrics', () => {
  it('a source that throws (the database is down) leaves its gauge empty; the scrape still answers', async () => {
    const metrics = new HeloPassMetrics('api');
    metrics.watchPendingApprovals(() => Promise.reject(new Error('connection refused')));
    metrics.watchSnapshot({ version: () => 42n, builtAt: () => null, staleSince: () => new Date(Date.now() - 30_000) });
    const text = await metrics.scrape();
    expect(text).toContain('# TYPE helopass_approvals_pending gauge');
    expect(text).not.toMatch(/^helopass_approvals_pending\{/m);
    expect(text).toMatch(/^helopass_snapshot_version 42$/m);
    expect(text).toMatch(/^helopass_snapshot_stale 1$/m);
    const stale = Number(/^helopass_snapshot_stale_seconds (\S+)$/m.exec(text)![1]);
    expect(stale).toBeGreaterThanOrEqual(30);
    expect(stale).toBeLessThan(40);
  });

  it('two processes in one (tests) keep apart registries', async () => {
    const first = new HeloPassMetrics('api');
    const second = new HeloPassMetrics('policy');
    first.policyDecisions.inc({ action: 'OK' });
    expect(await first.scrape()).toMatch(/^helopass_policy_decisions_total\{action="OK"\} 1$/m);
    expect(await second.scrape()).not.toMatch(/^helopass_policy_decisions_total\{/m);
  });

  it('the listener answers GET /metrics only', async () => {
    const metrics = new HeloPassMetrics('worker');
    const listener = await startMetricsListener(metrics, '127.0.0.1', 0);
    try {
      const ok = await fetch(`http://127.0.0.1:${listener.port}/metrics`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('helopass_jobs_total');
      expect((await fetch(`http://127.0.0.1:${listener.port}/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${listener.port}/metrics`, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await listener.close();
    }
  });
});
