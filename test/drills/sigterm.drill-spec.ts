import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { provenMailServer } from '../support/ownership.js';
import { PolicyConnection, policyRequest } from '../support/policy-client.js';
import { ProcessOutput } from '../support/process-output.js';
import { auditTrail, bearer, createOrganization, startIsolatedTestApp, unique, type TestApp } from '../support/test-app.js';
import { freePort } from '../support/free-port.js';

/** The bound a stop must keep: an orchestrator's grace period is usually 30 s; ours is much less. */
const EXIT_BOUND_MS = 10_000;
/** How long the test DNS server holds the answer the in-flight request waits for. */
const DNS_HOLD_MS = 3000;

/** Whether a TCP connection to 127.0.0.1:port is refused (nothing listens any more). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/**
 * Drill: SIGTERM while work is in flight, on the built processes. The API
 * answers the request it is in the middle of, refuses new connections, and
 * exits 0 within the bound; the policy server answers what a client already
 * sent (a whole request, or one finished after the signal), then closes the
 * connection, and exits 0 within the bound.
 */
describe('drill: SIGTERM drains, then exits 0', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1', FEED_POLL_SECONDS: '1' });
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    await t?.close();
    await dns?.stop();
  });

  const start = async (main: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; run: ProcessOutput; match: RegExpMatchArray }> => {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, MIGRATE_ON_START: 'false', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const run = new ProcessOutput(child);
    await run.waitFor((text) => ready.test(text), `${main} said it listens`, 60_000);
    return { child, run, match: run.text.match(ready)! };
  };

  it('the API: the request in flight gets its 200, new connections are refused, exit 0 within the bound', async () => {
    const port = await freePort();
    const api = await start(
      'dist/apps/api/src/main.js',
      {
        HOST: '127.0.0.1',
        PORT: String(port),
        RUN_WORKER: 'false',
        RUN_POLICY_SERVER: 'false',
        DNS_RESOLVERS: dns.address,
        DNS_TIMEOUT_MS: '10000',
        DNS_TRIES: '1',
        DNS_CHECK_DEADLINE_MS: '20000',
      },
      /API on http:\/\//,
    );
    const org = await createOrganization(t);
    const name = `${unique('draining')}.example.com`;
    const domain = (await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name }).expect(201)).body;
    dns.txt(domain.challenge.recordName, [domain.challenge.recordValue]);
    dns.delay(domain.challenge.recordName, DNS_HOLD_MS);

    const inFlight = fetch(`http://127.0.0.1:${port}/v1/domains/${domain.id}/verify`, { method: 'POST', headers: bearer(t.keys.csr) });
    const asked = () => dns.queries.some((query) => query.name.toLowerCase() === domain.challenge.recordName.toLowerCase());
    await expect.poll(asked, { timeout: 10_000, interval: 10 }).toBe(true);
    const signalledAt = Date.now();
    api.child.kill('SIGTERM');

    // New connections are refused while the request in flight is still being answered.
    await expect.poll(() => refused(port), { timeout: 2000, interval: 50 }).toBe(true);
    const refusedAfterMs = Date.now() - signalledAt;
    const response = await inFlight;
    const answeredAfterMs = Date.now() - signalledAt;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { domain: { status: string } }).domain.status).toBe('verified');
    expect(refusedAfterMs).toBeLessThan(answeredAfterMs);

    expect(await api.run.exited).toBe(0);
    const exitedAfterMs = Date.now() - signalledAt;
    expect(exitedAfterMs).toBeLessThan(EXIT_BOUND_MS);
    expect(api.run.text).toContain('SIGTERM: stopping');
    // What the answer said was done is in the database, with its audit event.
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } })).status).toBe('verified');
    expect((await auditTrail(t, domain.id)).map((event) => event.action)).toContain('domain.verified');
    console.log(
      `[drill] API SIGTERM: new connections refused after ${refusedAfterMs} ms, the in-flight request answered 200 after ${answeredAfterMs} ms, exit 0 after ${exitedAfterMs} ms`,
    );
  });

  it('the policy server: requests already sent are answered, then connections close, exit 0 within the bound', async () => {
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.61'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'SIGTERM drill' }).expect(201);
    const policy = await start(
      'dist/apps/policy/src/main.js',
      { POLICY_HOST: '127.0.0.1', POLICY_PORT: '0', FEED_POLL_SECONDS: '1' },
      /Postfix policy service on inet:127\.0\.0\.1:(\d+)/,
    );
    const port = Number(policy.match[1]);
    const whole = await PolicyConnection.open(port);
    const half = await PolicyConnection.open(port);
    const idle = await PolicyConnection.open(port);
    // A conversation under way: answered from the list loaded at start.
    await expect.poll(() => whole.ask(mail.heloHostname, '192.0.2.61'), { timeout: 10_000, interval: 50 }).toBe('OK');
    expect(await idle.ask(mail.heloHostname, '192.0.2.61')).toBe('OK');
    const request = policyRequest(mail.heloHostname, '192.0.2.61');
    half.send(request.slice(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first half has arrived

    // A whole request sent, and the signal right behind it.
    whole.send(request);
    const signalledAt = Date.now();
    policy.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    half.send(request.slice(40));

    expect(await whole.answersAtLeast(2, EXIT_BOUND_MS)).toEqual(['OK', 'OK']);
    expect(await half.answersAtLeast(1, EXIT_BOUND_MS)).toEqual(['OK']);
    await Promise.all([whole.untilClosed(EXIT_BOUND_MS), half.untilClosed(EXIT_BOUND_MS), idle.untilClosed(EXIT_BOUND_MS)]);
    expect(await refused(port)).toBe(true);
    expect(await policy.run.exited).toBe(0);
    const exitedAfterMs = Date.now() - signalledAt;
    expect(exitedAfterMs).toBeLessThan(EXIT_BOUND_MS);
    expect(policy.run.text).toContain('SIGTERM: stopping');
    console.log(`[drill] policy server SIGTERM: requests already sent answered, connections closed, exit 0 after ${exitedAfterMs} ms`);
  });
});
