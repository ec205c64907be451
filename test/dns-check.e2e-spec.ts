import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedFanout, DnsCheck, DnsClient } from '@app/dns';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';

// One check's view of DNS (DESIGN.md, Ownership §7) against the real test DNS
// server on 127.0.0.1: names refused before any query, each question asked
// once, one deadline for the whole check.
let server: TestDnsServer;

beforeAll(async () => {
  server = await startTestDnsServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A fresh domain per test, so tests share no records. */
const domain = () => `${randomUUID().slice(0, 8)}.example.com`;
/** Queries the server received about names under `suffix`. */
const asked = (suffix: string) => server.queries.filter((query) => query.name.toLowerCase().endsWith(suffix));
/** Slow on purpose: one unanswered question holds a lookup for about 3 s. */
const slowClient = () => new DnsClient({ resolvers: [server.address], timeoutMs: 3000, tries: 1 });
/** Generous for a loaded machine; far below what the lookups would take without the deadline. */
const SLACK_MS = 2_500;

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const started = performance.now();
  const result = await run();
  return { result, elapsedMs: performance.now() - started };
}

describe('DnsCheck', () => {
  it('asks each question once per check, however often and however spelled', async () => {
    const zone = domain();
    server.a(`mail.${zone}`, ['192.0.2.25']);
    server.aaaa(`mail.${zone}`, ['2001:db8::25']);
    const check = new DnsCheck(slowClient(), { deadlineMs: 5_000 });
    const answers = await Promise.all([check.a(`mail.${zone}`), check.a(`MAIL.${zone}.`), check.a(`mail.${zone}`)]);
    expect(await check.a(`mail.${zone}`)).toEqual(answers[0]);
    expect(answers.map((answer) => answer.status)).toEqual(['ok', 'ok', 'ok']);
    expect(asked(zone)).toEqual([{ name: `mail.${zone}`, type: 'A' }]);
    expect(check.lookups).toBe(1);
    // Another type is another question; another check has its own memo.
    await check.aaaa(`mail.${zone}`);
    await new DnsCheck(slowClient(), { deadlineMs: 5_000 }).a(`mail.${zone}`);
    expect(asked(zone).map((query) => query.type)).toEqual(['A', 'AAAA', 'A']);
    check.end();
  });

  it('refuses a name with a 20 000-character label or over 253 characters without sending it', async () => {
    const zone = domain();
    const check = new DnsCheck(slowClient(), { deadlineMs: 5_000 });
    expect(await check.txt(`${'a'.repeat(20_000)}.${zone}`)).toEqual({
      status: 'error',
      resolver: '',
      error: 'EBADNAME: the name has a label of 20000 characters, more than the 63 a label may have (RFC 1035 §2.3.4)',
    });
    expect((await check.a(`${'abc.'.repeat(70)}${zone}`)).status).toBe('error');
    // The bare client refuses too, whoever calls it.
    expect(await slowClient().mx(`${'m'.repeat(64)}.${zone}`)).toMatchObject({ status: 'error', error: expect.stringMatching(/^EBADNAME: /) });
    expect(asked(zone)).toEqual([]);
    expect(check.lookups).toBe(0);
    check.end();
  });

  it('ends the whole check at its deadline: could not tell, with the reason, and nothing more is sent', async () => {
    const zone = domain();
    const names = Array.from({ length: 5 }, (_, i) => `slow${i}.${zone}`);
    for (const name of names) {
      server.timeout(name);
    }
    const check = new DnsCheck(slowClient(), { deadlineMs: 700 });
    // Without the deadline: five unanswered questions of about 3 s each.
    const { result, elapsedMs } = await timed(async () => {
      const outcomes = [];
      for (const name of names) {
        outcomes.push(await check.a(name));
      }
      return outcomes;
    });
    expect(elapsedMs).toBeLessThan(700 + SLACK_MS);
    const reason = 'deadline exceeded after 1 lookup: the DNS check may take at most 700 ms';
    expect(result).toEqual(names.map(() => ({ status: 'timeout', resolver: expect.any(String), error: `EDEADLINE: ${reason}` })));
    expect(check.deadlineExceeded).toBe(reason);
    expect(asked(zone)).toHaveLength(1);
    expect(check.lookups).toBe(1);
    check.end();
  });

  it('bounds each challenge look of a fanout by the deadline, every resolver answering "timeout"', async () => {
    const second = await startTestDnsServer();
    try {
      const name = `_mailmax-challenge.${domain()}`;
      server.timeout(name);
      second.timeout(name);
      const fanout = boundedFanout(new DnsClient({ resolvers: [server.address, second.address], timeoutMs: 1000, tries: 2 }), 500);
      const { result, elapsedMs } = await timed(() => fanout.txtFromEach(name));
      expect(elapsedMs).toBeLessThan(500 + SLACK_MS);
      expect(result).toEqual([
        { status: 'timeout', resolver: server.address, error: expect.stringMatching(/^EDEADLINE: deadline exceeded after 2 lookups/) },
        { status: 'timeout', resolver: second.address, error: expect.stringMatching(/^EDEADLINE: deadline exceeded after 2 lookups/) },
      ]);
    } finally {
      await second.stop();
    }
  });

  it('reads a 60 KB TXT record over TCP, as c-ares receives it', async () => {
    const name = domain();
    const strings = Array.from({ length: 240 }, (_, i) => `${i}`.padEnd(250, 'x'));
    server.txt(name, ['v=spf1 ', ...strings]);
    const outcome = await new DnsCheck(slowClient(), { deadlineMs: 5_000 }).txt(name);
    expect(outcome).toMatchObject({ status: 'ok' });
    expect(outcome.status === 'ok' && outcome.records[0]!.length).toBe(7 + 240 * 250);
  });
});
