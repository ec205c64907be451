import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizePrefix } from '@app/domain';
import { renderAll, type AllowlistEntry } from '../../../../libs/enforcement/src/render.js';
import { checkFeedBody, FeedBodyError, headerVersion } from './feed-body.js';
import { TEXT_RENDERINGS, type TextRendering } from './feed-url.js';

const golden = (name: string) => readFileSync(new URL(`../../../../libs/enforcement/src/golden/${name}`, import.meta.url));

/** A body of `rendering` whose header announces as many entries as `lines` holds, unless told otherwise. */
function body(rendering: TextRendering, lines: string[], header: { version?: string; count?: number; named?: string } = {}): Buffer {
  const count = header.count ?? lines.length;
  return Buffer.from(
    `# HeloPass allowlist ${header.named ?? rendering}: version ${header.version ?? '7'}, as of 2026-11-28T12:00:00.000Z, ${count} ${count === 1 ? 'entry' : 'entries'}\n` +
      `# a note\n` +
      lines.map((line) => `${line}\n`).join(''),
  );
}

const refusal = (rendering: TextRendering, lines: string[]) => {
  try {
    checkFeedBody(body(rendering, lines), rendering);
  } catch (error) {
    expect(error).toBeInstanceOf(FeedBodyError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(lines)}`);
};

describe('checkFeedBody: the exact grammar of each text rendering', () => {
  it('accepts every golden rendering the feed writes, with its version, instant and count', () => {
    expect(checkFeedBody(golden('postfix-cidr.txt'), 'postfix-cidr')).toEqual({
      rendering: 'postfix-cidr',
      version: '42',
      asOf: '2026-11-28T10:15:00.250Z',
      entries: 4,
    });
    expect(checkFeedBody(golden('postfix-helo.txt'), 'postfix-helo')).toMatchObject({ version: '42', entries: 1 });
    expect(checkFeedBody(golden('rspamd-ip.txt'), 'rspamd-ip')).toMatchObject({ version: '42', entries: 4 });
    expect(checkFeedBody(golden('rspamd-helo.txt'), 'rspamd-helo')).toMatchObject({ version: '42', entries: 1 });
  });

  it('accepts whatever the renderer makes of any list HeloPass can hold', () => {
    const v4 = fc
      .tuple(fc.ipV4(), fc.integer({ min: 16, max: 32 }))
      .map(([address, length]) => {
        const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
        const network = length === 0 ? 0 : value - (value % 2 ** (32 - length));
        return `${[24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.')}/${length}`;
      });
    // Canonical, as HeloPass stores prefixes (2001:db8:0:0::/64 is held as 2001:db8::/64).
    const v6 = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 2 })
      .map(([a, b]) => normalizePrefix(`2001:db8:${a!.toString(16)}:${b!.toString(16)}::/64`).cidr);
    const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
    const hostname = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
    const entry = fc.record({
      scope: fc.constantFrom('pair' as const, 'ip' as const, 'helo' as const),
      heloHostname: hostname.filter((name) => !/^[\d.]+$/.test(name)),
      addresses: fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), fc.bigInt({ min: 0n, max: 2n ** 62n }), (partial, version) => {
        const entries: AllowlistEntry[] = partial.map((item, index) => ({
          ...item,
          exceptionId: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
          organizationId: '10000000-0000-4000-8000-000000000001',
          startsAt: new Date(0),
          expiresAt: new Date(2e12),
        }));
        const rendered = renderAll(entries, { version, asOf: new Date('2026-11-28T10:15:00.250Z') });
        for (const rendering of TEXT_RENDERINGS) {
          expect(checkFeedBody(Buffer.from(rendered[rendering]), rendering).version).toBe(version.toString());
        }
      }),
      { numRuns: 100 },
    );
  });

  it('refuses the hostile lines Postfix would load: wide or non-canonical networks, other actions, table syntax', () => {
    expect(refusal('postfix-cidr', ['192.0.2.1/32 OK', '0.0.0.0/0 OK'])).toMatch(/^line 4 "0\.0\.0\.0\/0 OK" is not a network HeloPass grants: prefix is wider than \/16/);
    expect(refusal('postfix-cidr', ['192.0.2.0/8 OK'])).toMatch(/wider than \/16/);
    expect(refusal('postfix-cidr', ['192.0.0.0/15 OK'])).toMatch(/wider than \/16/);
    expect(refusal('postfix-cidr', ['::/0 OK'])).toMatch(/wider than \/32/);
    expect(refusal('postfix-cidr', ['2001:db8::/31 OK'])).toMatch(/wider than \/32/);
    expect(refusal('postfix-cidr', ['192.0.2.1/24 OK'])).toMatch(/host bits set/);
    expect(refusal('postfix-cidr', ['192.0.2.1 OK'])).toMatch(/is not <network>\/<length>/);
    expect(refusal('postfix-cidr', ['2001:DB8::/32 OK'])).toMatch(/not in canonical form \(HeloPass writes 2001:db8::\/32\)/);
    expect(refusal('postfix-cidr', ['2001:0db8:0:0::/64 OK'])).toMatch(/canonical form/);
    expect(refusal('postfix-cidr', ['::ffff:192.0.2.0/120 OK'])).toMatch(/HeloPass writes 192\.0\.2\.0\/24/);
    expect(refusal('postfix-cidr', ['192.0.2.10/32 REJECT'])).toMatch(/is not "<network> OK"/);
    expect(refusal('postfix-cidr', ['192.0.2.10/32 REDIRECT attacker@example.net'])).toMatch(/is not "<network> OK"/);
    expect(refusal('postfix-cidr', ['192.0.2.10/32 FILTER smtp:[203.0.113.9]'])).toMatch(/is not "<network> OK"/);
    expect(refusal('postfix-cidr', ['REDIRECT'])).toMatch(/is not "<network> OK"/);
    expect(refusal('postfix-cidr', ['if 192.0.2.0/24'])).toMatch(/is not "<network> OK"/);
    expect(refusal('postfix-cidr', ['!192.0.2.10/32 OK'])).toMatch(/not a network HeloPass grants/);
    expect(refusal('postfix-cidr', ['192.0.2.10/32  OK'])).toMatch(/is not "<network> OK"/);
    expect(refusal('postfix-cidr', [' 192.0.2.10/32 OK'])).toMatch(/is not "<network> OK"/);
    expect(refusal('postfix-cidr', [''])).toMatch(/^line 3 "" is not "<network> OK"/);
    expect(refusal('postfix-helo', ['/^x/ OK'])).toMatch(/is not a HELO name/);
    expect(refusal('postfix-helo', ['exch01.corp.example REJECT'])).toMatch(/is not "<hostname> OK"/);
    expect(refusal('postfix-helo', ['FILTER'])).toMatch(/is not "<hostname> OK"/);
    expect(refusal('postfix-helo', ['if'])).toMatch(/is not "<hostname> OK"/);
    expect(refusal('postfix-helo', ['endif OK OK'])).toMatch(/is not "<hostname> OK"/);
    expect(refusal('postfix-helo', ['EXCH01.corp.example OK'])).toMatch(/not a normalized HELO name/);
    expect(refusal('postfix-helo', ['exch01.corp.example. OK'])).toMatch(/not a normalized HELO name/);
    expect(refusal('postfix-helo', ['.corp.example OK'])).toMatch(/empty labels/);
    expect(refusal('postfix-helo', ['192.0.2.1 OK'])).toMatch(/is an IP address/);
    expect(refusal('postfix-helo', [`${'a'.repeat(64)}.example OK`])).toMatch(/at most 63/);
    expect(refusal('postfix-helo', [`${'abcdefghi.'.repeat(25)}abcd OK`])).toMatch(/at most 253/);
    expect(refusal('postfix-helo', ['user@example.net OK'])).toMatch(/only letters, digits, hyphens and underscores/);
    expect(refusal('rspamd-ip', ['192.0.2.10/32 OK'])).toMatch(/is not "<network>"/);
    expect(refusal('rspamd-ip', ['0.0.0.0/0'])).toMatch(/wider than \/16/);
    expect(refusal('rspamd-helo', ['exch01 OK'])).toMatch(/is not "<hostname>"/);
    expect(refusal('rspamd-helo', ['/^x/'])).toMatch(/is not a HELO name/);
  });

  it('accepts the widest grants and the HELO names HeloPass keeps (single labels, underscores)', () => {
    expect(checkFeedBody(body('postfix-cidr', ['192.0.0.0/16 OK', '2001:db8::/32 OK']), 'postfix-cidr').entries).toBe(2);
    expect(checkFeedBody(body('postfix-helo', ['exch_02 OK', 'xn--bcher-kva.example OK']), 'postfix-helo').entries).toBe(2);
    // In an rspamd helo map a bare word is just a name; it means nothing else to rspamd.
    expect(checkFeedBody(body('rspamd-helo', ['if']), 'rspamd-helo').entries).toBe(1);
  });

  it('refuses CR, NUL, tab and non-ASCII bytes, naming the line', () => {
    const crlf = Buffer.from(body('postfix-cidr', ['192.0.2.10/32 OK']).toString().replaceAll('\n', '\r\n'));
    expect(() => checkFeedBody(crlf, 'postfix-cidr')).toThrow('line 1 holds a carriage return (CR)');
    const hidden = body('postfix-cidr', ['192.0.2.10/32 OK\r0.0.0.0/0 OK']);
    expect(() => checkFeedBody(hidden, 'postfix-cidr')).toThrow('line 3 holds a carriage return (CR)');
    expect(() => checkFeedBody(body('postfix-cidr', ['192.0.2.10/32 OK\u0000']), 'postfix-cidr')).toThrow('line 3 holds a NUL byte');
    expect(() => checkFeedBody(body('postfix-cidr', ['192.0.2.10/32\tOK']), 'postfix-cidr')).toThrow('line 3 holds a tab');
    expect(() => checkFeedBody(body('postfix-helo', ['bücher.example OK']), 'postfix-helo')).toThrow('line 3 holds the byte 0xc3');
    expect(() => checkFeedBody(body('postfix-helo', ['# a comment with \u001b[31m colour']), 'postfix-helo')).toThrow('line 3 holds the byte 0x1b');
  });

  it('checks the header: rendering, version, instant, count and its noun', () => {
    const ok = ['192.0.2.10/32 OK'];
    expect(() => checkFeedBody(body('postfix-cidr', ok), 'postfix-helo')).toThrow('the body is the postfix-cidr rendering, not postfix-helo');
    expect(() => checkFeedBody(body('postfix-cidr', ok, { named: 'json' }), 'postfix-cidr')).toThrow('the body is the json rendering, not postfix-cidr');
    expect(() => checkFeedBody(body('postfix-cidr', ok, { version: '-1' }), 'postfix-cidr')).toThrow(/line 1 .* is not a HeloPass header/);
    expect(() => checkFeedBody(body('postfix-cidr', ok, { version: '07' }), 'postfix-cidr')).toThrow(/is not a HeloPass header/);
    expect(() => checkFeedBody(body('postfix-cidr', ok, { version: '1'.repeat(20) }), 'postfix-cidr')).toThrow(/is not a HeloPass header/);
    expect(() => checkFeedBody(body('postfix-cidr', ok, { count: 2 }), 'postfix-cidr')).toThrow('the header announces 2 entries but the body holds 1');
    expect(() => checkFeedBody(body('postfix-cidr', ['192.0.2.10/32 OK', '192.0.2.11/32 OK'], { count: 1 }), 'postfix-cidr')).toThrow(
      'the header announces 1 entry but the body holds 2',
    );
    const badInstant = Buffer.from(body('postfix-cidr', ok).toString().replace('2026-11-28T12:00:00.000Z', '2026-13-45T12:00:00.000Z'));
    expect(() => checkFeedBody(badInstant, 'postfix-cidr')).toThrow('"as of" is not a valid instant');
    const badNoun = Buffer.from(body('postfix-cidr', ok).toString().replace('1 entry', '1 entries'));
    expect(() => checkFeedBody(badNoun, 'postfix-cidr')).toThrow('the header says "1 entries"');
    expect(() => checkFeedBody(Buffer.from('# HeloPass allowlist postfix-cidr: version 1, as of 2026-11-28T12:00:00.000Z, 0 entries'), 'postfix-cidr')).toThrow(
      'does not end with a newline',
    );
    expect(() => checkFeedBody(Buffer.from('<html>captive portal</html>\n'), 'postfix-cidr')).toThrow('does not start with "# HeloPass allowlist"');
    expect(() => checkFeedBody(Buffer.alloc(0), 'postfix-cidr')).toThrow('the body is empty');
  });

  it('refuses a line longer than any HeloPass writes', () => {
    expect(() => checkFeedBody(body('postfix-helo', [`# ${'x'.repeat(600)}`]), 'postfix-helo')).toThrow(/line 3 is 602 characters long/);
  });
});

describe('headerVersion', () => {
  it('reads the version of a file of the same rendering, and nothing from a hand-made one', () => {
    expect(headerVersion(golden('postfix-cidr.txt'), 'postfix-cidr')).toBe(42n);
    expect(headerVersion(golden('postfix-cidr.txt'), 'postfix-helo')).toBeUndefined();
    expect(headerVersion(Buffer.from('127.0.0.1/32 OK\n'), 'postfix-cidr')).toBeUndefined();
    expect(headerVersion(Buffer.alloc(0), 'postfix-cidr')).toBeUndefined();
  });
});
