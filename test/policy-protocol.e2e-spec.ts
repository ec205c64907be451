import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '@app/config';
import { startPolicyServer, type RunningPolicyServer } from '@app/policy';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { provenMailServer } from './support/ownership.js';
import { PolicyConnection, policyRequest } from './support/policy-client.js';
import { bearer, LogCapture, startTestApp, type TestApp } from './support/test-app.js';

/** A policy server on the run's database, on a free port, with small limits so that tests meet them quickly. */
async function policyServer(env: Record<string, string> = {}, logs = new LogCapture()): Promise<RunningPolicyServer> {
  const config = loadConfig({
    DATABASE_URL: inject('databaseUrl'),
    SNAPSHOT_DIR: 'off',
    LOG_LEVEL: 'info',
    POLICY_MAX_REQUEST_BYTES: '2048',
    POLICY_IDLE_TIMEOUT_SECONDS: '30',
    POLICY_REQUEST_TIMEOUT_SECONDS: '2',
    ...env,
  });
  return startPolicyServer(config, { port: 0, logStream: logs });
}

describe('the policy server speaks Postfix policy delegation over TCP', () => {
  let dns: TestDnsServer;
  let t: TestApp;
  let server: RunningPolicyServer;
  // nestjs-pino keeps one root logger per process, the first app's: the API app's capture gets the policy server's lines too.
  let logs: LogCapture;
  let granted: { heloHostname: string; address: string };
  const open: PolicyConnection[] = [];
  const connect = async (port = server.port) => {
    const connection = await PolicyConnection.open(port);
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startTestApp({ DNS_RESOLVERS: dns.address });
    const mail = await provenMailServer(t, dns, { addresses: ['192.0.2.201'] });
    await t.http.post('/v1/exceptions').set(bearer(t.keys.csr)).send({ mailServerId: mail.mailServerId, scope: 'pair', reason: 'protocol tests' }).expect(201);
    granted = { heloHostname: mail.heloHostname, address: '192.0.2.201' };
    logs = t.logs;
    server = await policyServer();
    // The grant is in the list the server loaded (or arrives by NOTIFY right after).
    const probe = await connect();
    for (let tries = 0; (await probe.ask(granted.heloHostname, granted.address)) !== 'OK'; tries++) {
      if (tries > 100) {
        throw new Error('the grant never reached the policy server');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    open.forEach((connection) => connection.close());
    await server?.stop();
    await t?.close();
    await dns?.stop();
  });

  it('answers action=OK for the granted pair and action=DUNNO otherwise, each followed by an empty line', async () => {
    const connection = await connect();
    expect(await connection.ask(granted.heloHostname, granted.address)).toBe('OK');
    expect(await connection.ask('someone-else.example', granted.address)).toBe('DUNNO');
    expect(connection.text).toBe('action=OK\n\naction=DUNNO\n\n');
  });

  it('answers pipelined requests in order, many on one connection', async () => {
    const connection = await connect();
    const expected: string[] = [];
    let batch = '';
    for (let index = 0; index < 60; index++) {
      const yes = index % 3 === 0;
      expected.push(yes ? 'OK' : 'DUNNO');
      batch += policyRequest(yes ? granted.heloHostname : `other-${index}.example`, granted.address);
    }
    connection.send(batch);
    expect(await connection.answersAtLeast(60)).toEqual(expected);
    expect(await connection.ask(granted.heloHostname, granted.address)).toBe('OK');
  });

  it('joins a request split across packets, and answers only once it is complete', async () => {
    const connection = await connect();
    const request = policyRequest(granted.heloHostname, granted.address);
    for (const piece of [request.slice(0, 5), request.slice(5, 40), request.slice(40, request.length - 1)]) {
      connection.send(piece);
      await new Promise((resolve) => connection.socket.once('drain', resolve).write('', resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(connection.answers()).toEqual([]);
    connection.send('\n');
    expect(await connection.answersAtLeast(1)).toEqual(['OK']);
  });

  it('takes attributes in any order, ignores unknown ones and reads empty values as empty', async () => {
    const connection = await connect();
    connection.send(`client_address=${granted.address}\nx_future_attribute=a=b\nhelo_name=${granted.heloHostname}\nrequest=smtpd_access_policy\n\n`);
    connection.send('request=smtpd_access_policy\nhelo_name=\nclient_address=\nsasl_username=\n\n');
    connection.send(`request=smtpd_access_policy\nclient_address=${granted.address}\n\n`);
    expect(await connection.answersAtLeast(3)).toEqual(['OK', 'DUNNO', 'DUNNO']);
  });

  it('closes the connection without an answer on garbage, and logs why (not what was sent)', async () => {
    const http = await connect();
    http.send('GET / HTTP/1.1\r\nHost: policy\r\n\r\n');
    await http.untilClosed();
    expect(http.text).toBe('');

    const binary = await connect();
    binary.send(Buffer.from([0, 1, 2, 0xff, 0x0a, 0x0a, 0x7f]));
    await binary.untilClosed();
    expect(binary.text).toBe('');

    const afterGood = await connect();
    afterGood.send(`${policyRequest(granted.heloHostname, granted.address)}this is not name=value\nbroken\n\n`);
    await afterGood.untilClosed();
    expect(afterGood.answers()).toEqual(['OK']);

    await expect.poll(() => logs.lines.filter((line) => line.includes('malformed policy request')).length).toBeGreaterThanOrEqual(3);
    expect(logs.text).not.toContain('HTTP/1.1');
    expect(logs.text).toContain('a line without \\"=\\"');
  });

  it('closes on a request over POLICY_MAX_REQUEST_BYTES, ended or not', async () => {
    const longLine = await connect();
    longLine.send(policyRequest('x'.repeat(4000), granted.address));
    await longLine.untilClosed();
    expect(longLine.text).toBe('');

    const endless = await connect();
    endless.send(`request=smtpd_access_policy\nccert_subject=${'y'.repeat(3000)}`);
    await endless.untilClosed();
    expect(endless.text).toBe('');
    await expect.poll(() => logs.text).toContain('longer than 2048 bytes');
  });

  it('forgets a client that disconnects mid-request and goes on serving the others', async () => {
    const quitter = await connect();
    quitter.send('request=smtpd_access_policy\nhelo_name=half');
    quitter.close();
    await quitter.closed;
    const other = await connect();
    expect(await other.ask(granted.heloHostname, granted.address)).toBe('OK');
    other.close();
    await expect.poll(() => open.filter((connection) => !connection.isClosed).length === 0 || server.connections() <= open.filter((c) => !c.isClosed).length).toBe(true);
  });

  it('serves many concurrent connections, each its own answers', async () => {
    const connections = await Promise.all(Array.from({ length: 200 }, () => connect()));
    const results = await Promise.all(
      connections.map(async (connection, index) => {
        const yes = index % 2 === 0;
        connection.send(policyRequest(yes ? granted.heloHostname : 'nope.example', granted.address).repeat(3));
        return { yes, answers: await connection.answersAtLeast(3, 10_000) };
      }),
    );
    for (const { yes, answers } of results) {
      expect(answers).toEqual(yes ? ['OK', 'OK', 'OK'] : ['DUNNO', 'DUNNO', 'DUNNO']);
    }
    expect(server.connections()).toBeGreaterThanOrEqual(200);
    connections.forEach((connection) => connection.close());
  });

  it('cuts off a request that trickles in longer than POLICY_REQUEST_TIMEOUT_SECONDS', async () => {
    const slow = await connect();
    const started = Date.now();
    const request = policyRequest(granted.heloHostname, granted.address);
    let index = 0;
    const trickle = setInterval(() => {
      if (!slow.isClosed && index < request.length - 1) {
        slow.send(request[index++]!);
      }
    }, 100);
    await slow.untilClosed(8000);
    clearInterval(trickle);
    expect(slow.answers()).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await expect.poll(() => logs.text).toContain('a request not finished within 2000 ms');
  });
});
