import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '@app/config';
import { MetricsEndpoint } from '@app/metrics';
import { startPolicyServer, type RunningPolicyServer } from '@app/policy';
import { startWorker, type RunningWorker } from '@app/worker';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { PolicyConnection } from './support/policy-client.js';
import { bearer, startIsolatedTestApp, startTestApp, type TestApp } from './support/test-app.js';

const OPERATIONS = path.resolve(import.meta.dirname, '..', 'docs', 'operations');

/** A real scrape over HTTP: the sample lines, by series (`name{labels}`) → value. */
async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The value of one series (0 when the series does not exist yet). */
const value = (samples: Map<string, number>, series: string) => samples.get(series) ?? 0;

/** Every metric name a scrape declares (`# TYPE`), with a histogram's `_bucket`, `_sum` and `_count`, samples or not yet. */
async function exportedNames(port: number): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
    type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
  );
}

/** Whether something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('Prometheus metrics of the API, the policy server and the worker', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let apiPort: number;
  let policy: RunningPolicyServer;
  let worker: RunningWorker;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, METRICS_PORT: '0' });
    apiPort = t.app.get(MetricsEndpoint).port!;
    const env = { DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', DNS_RESOLVERS: dns.address, POLICY_USAGE_FLUSH_SECONDS: '3600' };
    policy = await startPolicyServer(loadConfig({ ...env, POLICY_METRICS_PORT: '0' }), { port: 0 });
    worker = await startWorker(loadConfig({ ...env, WORKER_METRICS_PORT: '0' }), { pollingIntervalSeconds: 0.5 });
  });
  afterAll(async () => {
    await worker?.stop();
    await policy?.stop();
    await t?.close();
    await dns?.stop();
  });

  it('feed polls: a 200 and then a 304 move the counters of that rendering and status, and the HTTP counters by route template', async () => {
    const before = await scrape(apiPort);
    const first = await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).expect(200);
    await t.http.get('/v1/allowlist/postfix-cidr').set(bearer(t.keys.filter)).set('if-none-match', first.headers.etag!).expect(304);
    await t.http.get('/v1/allowlist/rspamd-ip.sig').set(bearer(t.keys.filter)).expect(200);
    const after = await scrape(apiPort);
    const polls = (rendering: string, status: number, samples: Map<string, number>) =>
      value(samples, `helopass_feed_polls_total{rendering="${rendering}",status="${status}"}`);
    expect(polls('postfix-cidr', 200, after) - polls('postfix-cidr', 200, before)).toBe(1);
    expect(polls('postfix-cidr', 304, after) - polls('postfix-cidr', 304, before)).toBe(1);
    expect(polls('rspamd-ip.sig', 200, after) - polls('rspamd-ip.sig', 200, before)).toBe(1);
    const http = (status: number, samples: Map<string, number>) =>
      value(samples, `helopass_http_requests_total{method="GET",route="/v1/allowlist/:rendering",status="${status}"}`);
    expect(http(304, after) - http(304, before)).toBe(1);
    expect(http(200, after) - http(200, before)).toBe(2);
    const latency = `helopass_http_request_duration_seconds_count{method="GET",route="/v1/allowlist/:rendering",status="304"}`;
    expect(value(after, latency) - value(before, latency)).toBe(1);
    // The snapshot served: its version, fresh.
    expect(first.headers['x-allowlist-version']).toMatch(/^\d+$/);
    expect(value(after, 'helopass_snapshot_version')).toBe(Number(first.headers['x-allowlist-version']));
    expect(value(after, 'helopass_snapshot_stale')).toBe(0);
    expect(value(after, 'helopass_snapshot_stale_seconds')).toBe(0);
  });

  it('routes are labelled by their template, never by the raw URL (ids do not make new series)', async () => {
    const org = await t.http.post('/v1/organizations').set(bearer(t.keys.csr)).send({ name: `Metrics Org ${Date.now()}` }).expect(201);
    await t.http.get(`/v1/organizations/${org.body.id}`).set(bearer(t.keys.csr)).expect(200);
    await t.http.get('/v1/organizations/3f9a1c2e-0000-4000-8000-000000000000').set(bearer(t.keys.csr)).expect(404);
    await t.http.get('/no/such/route').expect(404);
    const text = [...(await scrape(apiPort)).keys()].join('\n');
    expect(text).toContain('helopass_http_requests_total{method="GET",route="/v1/organizations/:id",status="200"}');
    expect(text).toContain('helopass_http_requests_total{method="GET",route="/v1/organizations/:id",status="404"}');
    expect(text).toContain('route="(unmatched)",status="404"');
    expect(text).not.toContain(org.body.id);
    expect(text).not.toContain('/no/such/route');
  });

  it('failed authentications are counted by reason', async () => {
    const before = await scrape(apiPort);
    await t.http.get('/v1/organizations').set('authorization', 'Bearer hp_nosuchkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx').expect(401);
    await t.http.get('/v1/organizations').set('authorization', 'Bearer hp_nosuchkeyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy').expect(401);
    await t.http.get('/v1/organizations').expect(401);
    // The feed's fast path authenticates on its own: counted all the same.
    await t.http.get('/v1/allowlist/postfix-helo').set('authorization', 'Bearer hp_nosuchkeyzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz').expect(401);
    const after = await scrape(apiPort);
    const failures = (reason: string, samples: Map<string, number>) => value(samples, `helopass_auth_failures_total{reason="${reason}"}`);
    expect(failures('unknown', after) - failures('unknown', before)).toBe(3);
    expect(failures('missing', after) - failures('missing', before)).toBe(1);
    expect(value(after, 'helopass_feed_polls_total{rendering="postfix-helo",status="401"}') - value(before, 'helopass_feed_polls_total{rendering="postfix-helo",status="401"}')).toBe(1);
  });

  it('a grant: the DNS check is counted by outcome, the change is applied (latency observed) and the policy server\'s decisions show on its own metrics', async () => {
    const apiBefore = await scrape(apiPort);
    const policyBefore = await scrape(policy.metricsPort!);
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.201'] });
    const granted = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'metrics test' }).expect(201);
    expect(granted.body.status).toBe('active');

    const client = await PolicyConnection.open(policy.port);
    try {
      await expect.poll(() => client.ask(mail.heloHostname, '192.0.2.201'), { timeout: 5000, interval: 20 }).toBe('OK');
      expect(await client.ask('not-granted.example', '192.0.2.202')).toBe('DUNNO');
      const during = await scrape(policy.metricsPort!);
      expect(value(during, 'helopass_policy_connections')).toBe(1);
      const decisions = (action: string, samples: Map<string, number>) => value(samples, `helopass_policy_decisions_total{action="${action}"}`);
      expect(decisions('OK', during) - decisions('OK', policyBefore)).toBe(1);
      expect(decisions('DUNNO', during) - decisions('DUNNO', policyBefore)).toBeGreaterThanOrEqual(1);
      const timed = (samples: Map<string, number>) => value(samples, 'helopass_policy_decision_duration_seconds_count{action="OK"}');
      expect(timed(during) - timed(policyBefore)).toBe(1);
      // The policy server follows the database on its own, and says so on its own listener.
      expect(value(during, 'helopass_snapshot_version')).toBeGreaterThan(value(policyBefore, 'helopass_snapshot_version'));
      expect(value(during, 'helopass_snapshot_change_apply_seconds_count')).toBeGreaterThan(value(policyBefore, 'helopass_snapshot_change_apply_seconds_count'));
      expect(value(during, 'helopass_db_pool_max')).toBe(10);
    } finally {
      client.close();
    }
    await expect.poll(async () => value(await scrape(policy.metricsPort!), 'helopass_policy_connections'), { timeout: 2000 }).toBe(0);

    await expect
      .poll(async () => value(await scrape(apiPort), 'helopass_snapshot_change_apply_seconds_count'), { timeout: 5000 })
      .toBeGreaterThan(value(apiBefore, 'helopass_snapshot_change_apply_seconds_count'));
    const apiAfter = await scrape(apiPort);
    const verified = (samples: Map<string, number>) => value(samples, 'helopass_dns_checks_total{trigger="verify",outcome="match"}');
    expect(verified(apiAfter) - verified(apiBefore)).toBe(1);
  });

  it('approvals waiting: the count and the oldest one\'s age, read from the database', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['2001:db8:99::/64'] });
    const requested = await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'wide' }).expect(201);
    expect(requested.body.status).toBe('pending_approval');
    const samples = await scrape(apiPort);
    expect(value(samples, 'helopass_approvals_pending{kind="exception"}')).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'helopass_approval_oldest_pending_seconds{kind="exception"}')).toBeGreaterThan(0);
    expect(samples.has('helopass_approvals_pending{kind="domain-override"}')).toBe(true);
    await t.http.post(`/v1/exceptions/${requested.body.id}/approve`).set(bearer(t.keys.csr2)).send({}).expect(200);
    expect(value(await scrape(apiPort), 'helopass_approvals_pending{kind="exception"}')).toBe(value(samples, 'helopass_approvals_pending{kind="exception"}') - 1);
  });

  it('the worker: job queue depth and runs by result, and its database pool', async () => {
    await worker.sweepNow();
    await expect
      .poll(async () => value(await scrape(worker.metricsPort!), 'helopass_jobs_total{queue="helopass-sweep",result="completed"}'), { timeout: 15_000, interval: 200 })
      .toBeGreaterThanOrEqual(1);
    const samples = await scrape(worker.metricsPort!);
    expect(samples.has('helopass_job_queue_jobs{queue="helopass-sweep",state="queued"}')).toBe(true);
    expect(samples.has('helopass_job_queue_jobs{queue="helopass-sweep",state="failed"}')).toBe(true);
    expect(value(samples, 'helopass_db_pool_max')).toBe(10);
  });

  it('the listener serves /metrics only, on the configured address only; the API port has no /metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${apiPort}/other`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${apiPort}/metrics`, { method: 'POST' })).status).toBe(405);
    // METRICS_HOST defaults to 127.0.0.1: another loopback address reaches nothing there.
    expect(await accepts('127.0.0.1', apiPort)).toBe(true);
    expect(await accepts('127.0.0.2', apiPort)).toBe(false);
    await t.http.get('/metrics').expect(404);
    await t.http.get('/metrics').set(bearer(t.keys.admin)).expect(404);
  });

  it('the alert rules and the dashboard name only metrics these processes export (scraped), and promtool accepts the rules', async () => {
    const exported = new Set([...(await exportedNames(apiPort)), ...(await exportedNames(policy.metricsPort!)), ...(await exportedNames(worker.metricsPort!))]);
    // Prometheus's own series about each scrape target.
    exported.add('up');
    const referenced = (expr: string) =>
      [...expr.matchAll(/\b(helopass_[a-z0-9_]+|nodejs_[a-z0-9_]+|process_[a-z0-9_]+|up)\b(?!\s*\()/g)].map((match) => match[1]!);

    const rules = parseYaml(readFileSync(path.join(OPERATIONS, 'prometheus-alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const alerts = rules.groups.flatMap((group) => group.rules);
    expect(alerts.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining(['HeloPassFeedStale', 'HeloPassPolicyServerDown', 'HeloPassChangeApplyLag', 'HeloPassJobFailures', 'HeloPassLapseSpike', 'HeloPassApprovalsWaiting']),
    );
    for (const rule of alerts) {
      const used = referenced(rule.expr);
      expect(used.length, rule.alert).toBeGreaterThan(0);
      expect(used.filter((name) => !exported.has(name)), rule.alert).toEqual([]);
    }

    const dashboard = JSON.parse(readFileSync(path.join(OPERATIONS, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    expect(dashboard.panels.length).toBeGreaterThan(0);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        const used = referenced(target.expr);
        expect(used.length, panel.title).toBeGreaterThan(0);
        expect(used.filter((name) => !exported.has(name)), panel.title).toEqual([]);
      }
    }

    const promtool = process.env.PROMTOOL ?? ['/usr/local/bin/promtool', '/usr/bin/promtool'].find((candidate) => existsSync(candidate));
    if (promtool === undefined) {
      console.warn('promtool is not installed (Debian: apt-get install prometheus); the rules were checked by parsing only');
      return;
    }
    expect(execFileSync(promtool, ['check', 'rules', path.join(OPERATIONS, 'prometheus-alerts.yml')], { encoding: 'utf8' })).toContain('SUCCESS');
  });
});

describe('metrics where the configuration does not ask for them', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('without METRICS_PORT no metrics listener is opened, and the API port serves none', async () => {
    expect(t.app.get(MetricsEndpoint).port).toBeUndefined();
    await t.http.get('/metrics').set(bearer(t.keys.admin)).expect(404);
  });
});
