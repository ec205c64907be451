import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { ProcessOutput } from './support/process-output.js';
import { bearer, startIsolatedTestApp, type TestApp } from './support/test-app.js';
import { freePort } from './support/free-port.js';

// Another OS process, as a second API replica would be: it hears of the grant only through PostgreSQL.
describe('propagation to another API process', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let replica: ChildProcess | undefined;
  let port: number;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
    port = await freePort();
    replica = spawn(process.execPath, ['dist/apps/api/src/main.js'], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, PORT: String(port), RUN_WORKER: 'false', LOG_LEVEL: 'warn', FEED_POLL_SECONDS: '60' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new ProcessOutput(replica).waitFor((text) => text.includes('API on '), 'the replica said it started', 30_000);
  });
  afterAll(async () => {
    if (replica && replica.exitCode === null) {
      const exited = new Promise((resolve) => replica!.on('exit', resolve));
      replica.kill('SIGTERM');
      await exited;
    }
    await t?.close();
    await dns?.stop();
  });

  it('serves a grant committed by this process within moments (NOTIFY, not the 60 s poll)', async () => {
    const fetchCidr = async () =>
      (await fetch(`http://127.0.0.1:${port}/v1/allowlist/postfix-cidr`, { headers: bearer(t.keys.filter) })).text();
    expect(await fetchCidr()).not.toContain('192.0.2.150/32');
    const server = await provenMailServer(t, dns, { addresses: ['192.0.2.150'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: server.mailServerId, reason: 'replica check' }).expect(201);
    const started = Date.now();
    await expect.poll(fetchCidr, { timeout: 5000, interval: 25 }).toContain('192.0.2.150/32 OK');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
