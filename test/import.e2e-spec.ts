import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDnsServer, type TestDnsServer } from './support/dns-server.js';
import { bearer, createOrganization, startIsolatedTestApp, unique, type TestApp } from './support/test-app.js';

const CLI = 'dist/apps/cli/src/main.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('command line: import of hand-kept Postfix maps', () => {
  let dns: TestDnsServer;
  let t: TestApp & { databaseUrl: string };
  let dir: string;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    t = await startIsolatedTestApp({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });
    dir = mkdtempSync(join(tmpdir(), 'helopass-import-'));
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The built CLI, on the test's database and DNS server; never rejects, so exit codes can be checked. */
  function cli(args: string[]): Promise<CliResult> {
    const env = { ...process.env, DATABASE_URL: t.databaseUrl, DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' };
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, 'import', ...args], { env }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  const records = (result: CliResult) => result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
  const summaryOf = (result: CliResult) => records(result).find((record) => record.type === 'summary')!;
  const linesOf = (result: CliResult) => records(result).filter((record) => record.type === 'line');

  function mapFile(name: string, lines: string[]): string {
    const path = join(dir, name);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  }

  async function written(organizationId: string) {
    return {
      servers: await t.prisma.mailServer.count({ where: { organizationId } }),
      exceptions: await t.prisma.exception.count({ where: { organizationId } }),
      auditEvents: await t.prisma.auditEvent.count(),
      apiKeys: await t.prisma.apiKey.count(),
    };
  }

  /** An organization whose domain is verified through its TXT challenge, with an SPF record naming `spf`. */
  async function verifiedOrganization(spf: string[]): Promise<{ id: string }> {
    const org = await createOrganization(t);
    const domain = `${unique('import')}.example.com`;
    const created = await t.http.post(`/v1/organizations/${org.id}/domains`).set(bearer(t.keys.csr)).send({ name: domain }).expect(201);
    dns.txt(created.body.challenge.recordName, [created.body.challenge.recordValue]);
    await t.http.post(`/v1/domains/${created.body.id}/verify`).set(bearer(t.keys.csr)).expect(200);
    dns.txt(domain, [`v=spf1 ${spf.map((address) => `ip4:${address}`).join(' ')} -all`]);
    return org;
  }

  async function approveAll(ids: string[]): Promise<void> {
    for (const id of ids) {
      const approved = await t.http.post(`/v1/exceptions/${id}/approve`).set(bearer(t.keys.admin2)).expect(200);
      expect(approved.body.status).toBe('active');
    }
  }

  async function feedEntries(rendering: string): Promise<string[]> {
    const response = await t.http.get(`/v1/allowlist/${rendering}`).set(bearer(t.keys.filter)).expect(200);
    return response.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  }

  it('cidr map: a dry run writes nothing; the import requests, SPF-only lines and overrides wait for another person; the feed then matches the map; a re-import adds nothing', async () => {
    const org = await verifiedOrganization(['192.0.2.10']);
    const keyName = unique('import-key');
    const file = mapFile('client.cidr', [
      '# hand-kept HELO exceptions (check_client_access)',
      '192.0.2.10          OK',
      '[2001:DB8:5::]/64   ok',
      '198.51.100.0/28',
      '        OK',
      '',
      '# refused: host bits set, and not an accept action',
      '192.0.2.77/24       OK',
      '203.0.113.5         REJECT',
    ]);
    const args = ['--org', org.id, '--from', file, '--format', 'postfix-cidr', '--as-key-name', keyName, '--json'];
    const justification = ['--justification', 'customer has used these addresses for years; ticket CS-1'];

    const before = await written(org.id);
    const dry = await cli([...args, ...justification, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(3);
    expect(await written(org.id)).toEqual(before);
    expect(summaryOf(dry)).toMatchObject({ dryRun: true, imported: 3, active: 0, pendingApproval: 3, refused: 2, serversCreated: 3 });
    expect(summaryOf(dry).actor).toEqual({ id: null, name: keyName, created: false });

    const done = await cli([...args, ...justification]);
    expect(done.code, done.stderr).toBe(3);
    expect(linesOf(done).map((line) => [line.line, line.outcome, line.mailServer?.heloHostname ?? null, line.exception?.status ?? line.reason])).toEqual([
      [2, 'imported', 'import-192-0-2-10', 'pending_approval'],
      [3, 'imported', 'import-2001-db8-5--_64', 'pending_approval'],
      [4, 'imported', 'import-198-51-100-0_28', 'pending_approval'],
      [8, 'refused', null, expect.stringContaining('host bits are set in 192.0.2.77/24')],
      [9, 'refused', null, expect.stringContaining('REJECT is not an accept action')],
    ]);
    const summary = summaryOf(done);
    expect(summary).toMatchObject({ dryRun: false, imported: 3, active: 0, pendingApproval: 3, skipped: 0, refused: 2, serversCreated: 3 });
    expect(summary.actor).toMatchObject({ name: keyName, created: true });
    const key = await t.prisma.apiKey.findUniqueOrThrow({ where: { id: summary.actor.id } });
    // Not a person: every real admin is another owner, so anyone may approve what it requests.
    expect(key).toMatchObject({ name: keyName, role: 'admin', owner: 'import', revokedAt: null });

    // Proven by SPF alone: the customer's claim, which another person accepts. Unproven: overrides that
    // another admin approves, through the API.
    const pending = linesOf(done).filter((line) => line.exception?.status === 'pending_approval');
    expect(pending.map((line) => line.exception.approvalReasons)).toEqual([['spf_only'], ['override'], ['override']]);
    expect(summary.pending.sort()).toEqual(pending.map((line) => line.exception.id).sort());
    await approveAll(summary.pending);

    const requestId = records(done).find((record) => record.type === 'start')!.requestId;
    const events = await t.prisma.auditEvent.findMany({ where: { requestId }, orderBy: { seq: 'asc' } });
    expect(new Set(events.map((event) => event.actorName))).toEqual(new Set([keyName]));
    expect(events.map((event) => event.action).sort()).toEqual(
      ['mail_server.created', 'mail_server.created', 'mail_server.created', 'exception.requested', 'exception.requested', 'exception.requested'].sort(),
    );

    // The feed renders exactly the map's accepted lines, canonical, in its own (numeric) order.
    await expect.poll(() => feedEntries('postfix-cidr'), { timeout: 5000 }).toEqual(['192.0.2.10/32 OK', '198.51.100.0/28 OK', '2001:db8:5::/64 OK']);

    const again = await cli([...args, ...justification]);
    expect(again.code, again.stderr).toBe(3);
    expect(summaryOf(again)).toMatchObject({ imported: 0, skipped: 3, refused: 2, serversCreated: 0, actor: { id: key.id, created: false } });
    expect(linesOf(again).filter((line) => line.outcome === 'skipped').map((line) => line.reason)).toEqual([
      expect.stringMatching(/already has an ip exception for 192\.0\.2\.10\/32 that is active/),
      expect.stringMatching(/already has an ip exception for 2001:db8:5::\/64 that is active/),
      expect.stringMatching(/already has an ip exception for 198\.51\.100\.0\/28 that is active/),
    ]);
    expect(await t.prisma.mailServer.count({ where: { organizationId: org.id } })).toBe(3);
    expect(await t.prisma.exception.count({ where: { organizationId: org.id } })).toBe(3);
  }, 60_000);

  it('access map: needs --address and, unproven, --justification; the approved helo exceptions are the postfix-helo feed', async () => {
    const org = await createOrganization(t);
    const file = mapFile('helo_access', [
      '# check_helo_access map',
      'exch01.corp.local    OK',
      'EXCH02.Corp.Local.   OK',
      'exch_03              PERMIT',
      '.corp.local          OK',
      'spammer.example      REJECT',
    ]);
    const args = ['--org', org.id, '--from', file, '--format', 'postfix-access'];

    const noAddress = await cli(args);
    expect(noAddress.code).toBe(2);
    expect(noAddress.stderr).toContain('--address');

    // Text report: nobody has proven the names, and no justification was given.
    const unproven = await cli([...args, '--address', '192.0.2.200']);
    expect(unproven.code, unproven.stderr).toBe(3);
    expect(unproven.stdout).toMatch(/line 2: refused "exch01\.corp\.local +OK" — ownership is not proven .*--justification/);
    expect(unproven.stdout).toMatch(/line 5: refused "\.corp\.local +OK" — .*subdomain pattern/);
    expect(unproven.stdout).toMatch(/summary: 5 map lines, 3 to import: 0 imported .*, 0 skipped, 5 refused/);
    expect(await t.prisma.mailServer.count({ where: { organizationId: org.id } })).toBe(0);

    const withJustification = [...args, '--address', '192.0.2.200', '--justification', 'legacy access map, migrating to HeloPass', '--json'];
    const done = await cli(withJustification);
    expect(done.code, done.stderr).toBe(3);
    const imported = linesOf(done).filter((line) => line.outcome === 'imported');
    expect(imported.map((line) => [line.mailServer.heloHostname, line.mailServer.addresses, line.exception.scope, line.exception.status])).toEqual([
      ['exch01.corp.local', ['192.0.2.200/32'], 'helo', 'pending_approval'],
      ['exch02.corp.local', ['192.0.2.200/32'], 'helo', 'pending_approval'],
      ['exch_03', ['192.0.2.200/32'], 'helo', 'pending_approval'],
    ]);
    expect(imported[1]!.notes).toEqual([expect.stringContaining('trailing dot is dropped')]);
    expect(imported.every((line) => line.exception.approvalReasons.join() === 'override,helo_scope')).toBe(true);

    await approveAll(summaryOf(done).pending);
    await expect
      .poll(() => feedEntries('postfix-helo'), { timeout: 5000 })
      .toEqual(['exch01.corp.local OK', 'exch02.corp.local OK', 'exch_03 OK']);

    const again = await cli(withJustification);
    expect(summaryOf(again)).toMatchObject({ imported: 0, skipped: 3, refused: 2, serversCreated: 0 });
    expect(await t.prisma.mailServer.count({ where: { organizationId: org.id } })).toBe(3);
    expect(await t.prisma.exception.count({ where: { organizationId: org.id } })).toBe(3);
  }, 60_000);

  it('access map: a public suffix is refused as a helo exception even with a justification, before anything is written', async () => {
    const org = await createOrganization(t);
    const file = mapFile('suffix_access', ['com     OK', 'co.uk   OK', 'github.io OK']);
    const done = await cli(['--org', org.id, '--from', file, '--format', 'postfix-access', '--address', '192.0.2.201', '--justification', 'copied from the old map as it was', '--json']);
    expect(done.code, done.stderr).toBe(3);
    expect(linesOf(done).map((line) => [line.outcome, line.reason])).toEqual([
      ['refused', expect.stringContaining('com is a public suffix')],
      ['refused', expect.stringContaining('co.uk is a public suffix')],
      ['refused', expect.stringContaining('github.io is a public suffix')],
    ]);
    expect(await t.prisma.mailServer.count({ where: { organizationId: org.id } })).toBe(0);
    expect(await t.prisma.exception.count({ where: { organizationId: org.id } })).toBe(0);
  }, 60_000);
});
