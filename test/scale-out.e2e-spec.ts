import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { freePort } from './support/free-port.js';
import { SpawnedProcess, startApi, startPolicy, startWorker } from './support/helopass-processes.js';
import { provenMailServer } from './support/ownership.js';
import { PolicyConnection } from './support/policy-client.js';
import { auditTrail, bearer, startIsolatedTestApp, type TestApp } from './support/test-app.js';

/** Debian's haproxy (the load balancer docker-compose.yml runs), when installed: `.ci/run` installs it. */
function haproxyPath(): string | undefined {
  for (const path of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy']) {
    try {
      execFileSync(path, ['-v'], { stdio: 'ignore' });
      return path;
    } catch {
      // not there
    }
  }
  return undefined;
}
const HAPROXY = haproxyPath();

/**
 * The drill of issue 14: two API processes, two policy servers and two
 * workers — real processes from dist/, on loopback — on one database. A
 * change made through either API is served by every API and answered by
 * every policy server; scheduled work (an expiry) runs once; and the
 * load balancer's own configuration (docker/haproxy/haproxy.cfg) spreads
 * requests over both APIs and keeps serving when one goes away.
 */
describe('scale-out: two APIs, two policy servers, two workers on one database', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  const apis: Array<{ process: SpawnedProcess; port: number }> = [];
  const policies: Array<{ process: SpawnedProcess; port: number }> = [];
  const workers: SpawnedProcess[] = [];

  const url = (api: number, path: string) => `http://127.0.0.1:${apis[api]!.port}${path}`;
  const feedOf = async (api: number) => (await fetch(url(api, '/v1/allowlist/postfix-cidr'), { headers: bearer(t.keys.filter) })).text();
  async function grantThrough(api: number, body: Record<string, unknown>): Promise<{ id: string; status: string }> {
    const response = await fetch(url(api, '/v1/exceptions'), {
      method: 'POST',
      headers: { ...bearer(t.keys.csr), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; status: string };
  }
  async function askEveryPolicyServer(helo: string, address: string): Promise<string[]> {
    return Promise.all(
      policies.map(async ({ port }) => {
        const connection = await PolicyConnection.open(port);
        try {
          return await connection.ask(helo, address);
        } finally {
          connection.close();
        }
      }),
    );
  }

  beforeAll(async () => {
    dns = await startTestDnsServer();
    const env = { DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' };
    t = await startIsolatedTestApp(env);
    // FEED_POLL_SECONDS=60: what reaches the other processes within the test's seconds came by NOTIFY, not by the poll.
    const shared = { ...env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'warn', FEED_POLL_SECONDS: '60' };
    const started = await Promise.allSettled([startApi('api-1', shared), startApi('api-2', shared)]);
    const policyServers = await Promise.allSettled([startPolicy('policy-1', shared), startPolicy('policy-2', shared)]);
    const workerProcesses = await Promise.allSettled([startWorker('worker-1', shared), startWorker('worker-2', shared)]);
    // Whatever started is kept, so afterAll stops it even when another failed to start.
    apis.push(...started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
    policies.push(...policyServers.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
    workers.push(...workerProcesses.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
    const failed = [...started, ...policyServers, ...workerProcesses].find((result) => result.status === 'rejected');
    if (failed !== undefined) {
      throw failed.reason;
    }
  }, 120_000);
  afterAll(async () => {
    const all = [...apis.map((a) => a.process), ...policies.map((p) => p.process), ...workers];
    const codes = await Promise.all(all.map((p) => p.stop()));
    await t?.close();
    await dns?.stop();
    // Every process stopped on SIGTERM by itself (exit 0), none had to be killed — except one the test stopped earlier.
    expect(codes.filter((code) => code !== 0 && code !== null)).toEqual([]);
  }, 60_000);

  it('a change made through either API is served by both APIs and answered by both policy servers', async () => {
    const first = await provenMailServer(t, dns, { addresses: ['192.0.2.211'] });
    const second = await provenMailServer(t, dns, { addresses: ['192.0.2.212'] });
    await grantThrough(0, { mailServerId: first.mailServerId, reason: 'granted through api-1' });
    await grantThrough(1, { mailServerId: second.mailServerId, reason: 'granted through api-2' });

    for (const api of [0, 1]) {
      await expect.poll(() => feedOf(api), { timeout: 5000, interval: 25 }).toMatch(/192\.0\.2\.211\/32 OK\n(?:.*\n)*192\.0\.2\.212\/32 OK/);
    }
    await expect.poll(() => askEveryPolicyServer(first.heloHostname, '192.0.2.211'), { timeout: 5000, interval: 25 }).toEqual(['OK', 'OK']);
    await expect.poll(() => askEveryPolicyServer(second.heloHostname, '192.0.2.212'), { timeout: 5000, interval: 25 }).toEqual(['OK', 'OK']);
    // The pair is exact everywhere: the other server's name from this address is not let through.
    expect(await askEveryPolicyServer(second.heloHostname, '192.0.2.211')).toEqual(['DUNNO', 'DUNNO']);
    // Both replicas serve the same bytes under the same validator: a cache in front may take either.
    const [a, b] = await Promise.all([0, 1].map((api) => fetch(url(api, '/v1/allowlist/postfix-cidr'), { headers: bearer(t.keys.filter) })));
    expect(a!.headers.get('etag')).toBe(b!.headers.get('etag'));
    expect(await a!.text()).toBe(await b!.text());
  });

  it('scheduled work runs once: an exception expiring with two workers running is expired by one of them, once', async () => {
    const server = await provenMailServer(t, dns, { addresses: ['192.0.2.213'] });
    const grant = await grantThrough(0, { mailServerId: server.mailServerId, reason: 'expires in a moment', expiresAt: new Date(Date.now() + 3000).toISOString() });
    expect(grant.status).toBe('active');
    await expect.poll(() => feedOf(1), { timeout: 5000, interval: 25 }).toContain('192.0.2.213/32 OK');

    // The workers sweep every minute (pg-boss cron); the first sweep after the expiry records it.
    await expect
      .poll(async () => (await t.prisma.exception.findUniqueOrThrow({ where: { id: grant.id } })).status, { timeout: 100_000, interval: 500 })
      .toBe('expired');
    // Then both workers get a further chance to run the same work again: a minute's sweep each.
    await new Promise((resolve) => setTimeout(resolve, 65_000));
    const expiries = (await auditTrail(t, grant.id)).filter((event) => event.action === 'exception.expired');
    expect(expiries).toHaveLength(1);
    expect(expiries[0]).toMatchObject({ actor: { name: 'system:worker', role: 'system' } });
    const announced = await t.prisma.notificationEvent.findMany({ where: { type: 'exception.expired', auditEventId: expiries[0]!.id } });
    expect(announced).toHaveLength(1);
    // Gone from every API's feed and every policy server's answers.
    for (const api of [0, 1]) {
      expect(await feedOf(api)).not.toContain('192.0.2.213/32');
    }
    expect(await askEveryPolicyServer(server.heloHostname, '192.0.2.213')).toEqual(['DUNNO', 'DUNNO']);
    // Both workers were alive throughout.
    expect(workers.map((worker) => worker.running)).toEqual([true, true]);
  }, 200_000);

  it.skipIf(HAPROXY === undefined)("docker/haproxy/haproxy.cfg spreads requests over both APIs and policy servers, and keeps serving when an API goes away", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'helopass-lb-'));
    const [http, policy, healthz] = await Promise.all([freePort(), freePort(), freePort()]);
    // The compose file's configuration, with loopback ports in place of the containers' names.
    const config = (await readFile('docker/haproxy/haproxy.cfg', 'utf8'))
      .replace('bind :3000', `bind 127.0.0.1:${http}`)
      .replace('bind :10040', `bind 127.0.0.1:${policy}`)
      .replace('bind 127.0.0.1:8405', `bind 127.0.0.1:${healthz}`)
      .replace('api-1:3000', `127.0.0.1:${apis[0]!.port}`)
      .replace('api-2:3000', `127.0.0.1:${apis[1]!.port}`)
      .replace('policy-1:10040', `127.0.0.1:${policies[0]!.port}`)
      .replace('policy-2:10040', `127.0.0.1:${policies[1]!.port}`);
    expect(config).not.toMatch(/ (api|policy)-\d:\d+/);
    await writeFile(join(dir, 'haproxy.cfg'), config);
    // -db: foreground; HAProxy logs the health checks' verdicts to stdout.
    const lb = await SpawnedProcess.start('haproxy', HAPROXY!, ['-db', '-f', join(dir, 'haproxy.cfg')], {}, () => true);
    try {
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${healthz}/healthz`)).status, { timeout: 5000 }).toBe(200);
      const lbFeed = async () => {
        const response = await fetch(`http://127.0.0.1:${http}/v1/allowlist/postfix-cidr`, { headers: bearer(t.keys.filter) });
        return { status: response.status, body: await response.text() };
      };
      /** Requests HAProxy sent to each API replica so far (its statistics, `stot` of each server). */
      const sentTo = async () => {
        const csv = await (await fetch(`http://127.0.0.1:${healthz}/stats;csv`)).text();
        const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n').map((line) => line.split(','));
        const column = (name: string) => header!.indexOf(name);
        return Object.fromEntries(
          rows.filter((row) => row[column('pxname')] === 'api' && row[column('svname')]!.startsWith('api-')).map((row) => [row[column('svname')], Number(row[column('stot')])]),
        );
      };
      const direct = await feedOf(0);
      const through = await Promise.all(Array.from({ length: 20 }, lbFeed));
      expect(through.every(({ status, body }) => status === 200 && body === direct)).toBe(true);
      const spread = await sentTo();
      expect(Object.keys(spread).sort()).toEqual(['api-1', 'api-2']);
      expect(spread['api-1']).toBeGreaterThanOrEqual(5);
      expect(spread['api-2']).toBeGreaterThanOrEqual(5);
      // The policy service through its TCP frontend.
      const viaLb = await PolicyConnection.open(policy);
      try {
        const granted = await provenMailServer(t, dns, { addresses: ['192.0.2.214'] });
        await grantThrough(1, { mailServerId: granted.mailServerId, reason: 'behind the load balancer' });
        await expect.poll(() => viaLb.ask(granted.heloHostname, '192.0.2.214'), { timeout: 5000, interval: 25 }).toBe('OK');
      } finally {
        viaLb.close();
      }

      // One API goes away (a restart, a crash): its health check (/health/live) marks it down, and the other serves everything.
      expect(await apis[1]!.process.stop()).toBe(0);
      await lb.output.waitFor((text) => /api\/api-2 is DOWN/.test(text), 'HAProxy marked api-2 down', 15_000);
      const before = await sentTo();
      const after = await Promise.all(Array.from({ length: 20 }, lbFeed));
      expect(after.map(({ status }) => status)).toEqual(Array.from({ length: 20 }, () => 200));
      const now = await sentTo();
      expect(now['api-2']).toBe(before['api-2']);
      expect(now['api-1']! - before['api-1']!).toBeGreaterThanOrEqual(20);
    } finally {
      await lb.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
