import { describe, expect, it } from 'vitest';
import { parseAccessMap } from './access-map.js';
import { parseCidrMap } from './cidr-map.js';
import { placeholderHelo } from './placeholder-helo.js';
import { isAcceptResult, logicalLines } from './postfix-map.js';

const outcomes = (entries: ReturnType<typeof parseCidrMap>) =>
  entries.map((entry) => [entry.line, entry.kind, entry.kind === 'accept' ? entry.key : entry.reason]);

describe('logicalLines', () => {
  it('skips comments and blank lines, joins continuations, trims CRLF; "#" inside a line is text', () => {
    const text = '# header\r\n\r\n192.0.2.10\r\n    OK\r\n  # indented comment\r\n192.0.2.11 OK # not a comment\n   \n';
    expect(logicalLines(text)).toEqual([
      { line: 3, lastLine: 4, text: '192.0.2.10 OK' },
      { line: 6, lastLine: 6, text: '192.0.2.11 OK # not a comment' },
    ]);
  });

  it('marks a continuation with nothing to continue', () => {
    expect(logicalLines('  192.0.2.1 OK\n')).toEqual([{ line: 1, lastLine: 1, text: '192.0.2.1 OK', orphan: true }]);
  });
});

describe('isAcceptResult', () => {
  it('accepts OK, PERMIT (any case, text after them) and all-numerical results only', () => {
    for (const result of ['OK', 'ok', 'Ok legacy', 'PERMIT', 'permit', '200']) {
      expect(isAcceptResult(result), result).toBe(true);
    }
    for (const result of ['REJECT', 'DUNNO', '554 5.7.1 go away', '450 try later', 'permit_mynetworks', 'OKAY', '', 'DEFER_IF_PERMIT']) {
      expect(isAcceptResult(result), result).toBe(false);
    }
  });
});

describe('parseCidrMap', () => {
  it('turns OK lines into canonical prefixes and refuses every other result with the reason', () => {
    const entries = parseCidrMap(
      [
        '192.0.2.10 OK',
        '[2001:DB8:5::]/64 ok',
        '198.51.100.0/28',
        '  PERMIT',
        '203.0.113.5 REJECT',
        '203.0.113.6 554 5.7.1 no thanks',
        '203.0.113.7 DUNNO',
        '203.0.113.8',
      ].join('\n'),
    );
    expect(outcomes(entries)).toEqual([
      [1, 'accept', '192.0.2.10/32'],
      [2, 'accept', '2001:db8:5::/64'],
      [3, 'accept', '198.51.100.0/28'],
      [5, 'refused', expect.stringContaining('REJECT is not an accept action')],
      [6, 'refused', expect.stringContaining('5xx reply')],
      [7, 'refused', expect.stringContaining('DUNNO grants nothing')],
      [8, 'refused', expect.stringContaining('no result')],
    ]);
  });

  it('refuses host bits, as Postfix skips them, naming the network to write instead', () => {
    const [entry] = parseCidrMap('192.0.2.10/24 OK\n');
    expect(entry).toMatchObject({ kind: 'refused', reason: expect.stringContaining('host bits are set in 192.0.2.10/24') });
    expect((entry as { reason: string }).reason).toContain('192.0.2.0/24');
  });

  it('refuses what no mail server is: networks wider than /16, garbage', () => {
    expect(outcomes(parseCidrMap('10.0.0.0/8 OK\nmx.example.com OK\n'))).toEqual([
      [1, 'refused', expect.stringContaining('wider than /16')],
      [2, 'refused', expect.stringContaining('must be an IPv4 address')],
    ]);
  });

  it('follows first-match order: an OK line an earlier REJECT matches is refused, one inside an earlier OK is skipped', () => {
    const entries = parseCidrMap(
      [
        '192.0.2.0/24 REJECT', // 1
        '192.0.2.10 OK', // 2: never reached
        '198.51.100.7 REJECT', // 3
        '198.51.100.0/24 OK', // 4: 198.51.100.7 is carved out
        '203.0.113.0/24 OK', // 5
        '203.0.113.9 OK', // 6: redundant
        '203.0.113.0/24 OK', // 7: duplicate
      ].join('\n'),
    );
    expect(outcomes(entries)).toEqual([
      [1, 'refused', expect.stringContaining('REJECT')],
      [2, 'refused', expect.stringContaining('never reached: line 1')],
      [3, 'refused', expect.stringContaining('REJECT')],
      [4, 'refused', expect.stringContaining('line 3 (198.51.100.7 REJECT) matches part of this prefix first')],
      [5, 'accept', '203.0.113.0/24'],
      [6, 'skipped', expect.stringContaining('already covered by line 5')],
      [7, 'skipped', expect.stringContaining('already covered by line 5')],
    ]);
  });

  it('refuses negations, if…endif blocks and what they shadow', () => {
    const entries = parseCidrMap(
      ['!192.0.2.0/24 OK', 'if 198.51.100.0/24', '198.51.100.5 OK', '198.51.100.6 REJECT', 'endif', '198.51.100.6 OK', 'endif'].join('\n'),
    );
    expect(outcomes(entries)).toEqual([
      [1, 'refused', expect.stringContaining('negated pattern')],
      [2, 'refused', expect.stringContaining('if…endif block')],
      [3, 'refused', expect.stringContaining('inside the if…endif block of line 2')],
      [4, 'refused', expect.stringContaining('inside the if…endif block of line 2')],
      [6, 'refused', expect.stringContaining('never reached: line 4')],
      [7, 'refused', 'endif without a matching if'],
    ]);
  });
});

describe('parseAccessMap', () => {
  it('turns OK names into normalized HELO names and refuses patterns that are not one name', () => {
    const entries = parseAccessMap(
      [
        'exch01.corp.local OK',
        'EXCH02.Corp.Local. OK',
        'exch_03 permit',
        '.corp.local OK',
        'postmaster@corp.local OK',
        '192.0.2.1 OK',
        '[192.0.2.1] OK',
        'spammer.example REJECT',
        'exch01.corp.local OK',
        'bad..name OK',
      ].join('\n'),
    );
    expect(outcomes(entries)).toEqual([
      [1, 'accept', 'exch01.corp.local'],
      [2, 'accept', 'exch02.corp.local'],
      [3, 'accept', 'exch_03'],
      [4, 'refused', expect.stringContaining('subdomain pattern')],
      [5, 'refused', expect.stringContaining('e-mail address pattern')],
      [6, 'refused', expect.stringContaining('is an IP address')],
      [7, 'refused', expect.stringContaining('address literal')],
      [8, 'refused', expect.stringContaining('REJECT is not an accept action')],
      [9, 'skipped', expect.stringContaining('a duplicate of line 1')],
      [10, 'refused', expect.stringContaining('empty labels')],
    ]);
    expect(entries[1]).toMatchObject({ notes: [expect.stringContaining('trailing dot is dropped')] });
  });
});

describe('placeholderHelo', () => {
  it('derives one valid, distinct label per prefix', () => {
    expect(placeholderHelo('192.0.2.10/32')).toBe('import-192-0-2-10');
    expect(placeholderHelo('198.51.100.0/28')).toBe('import-198-51-100-0_28');
    expect(placeholderHelo('2001:db8::/64')).toBe('import-2001-db8--_64');
    expect(placeholderHelo('2001:db8::64/128')).toBe('import-2001-db8--64');
    expect(placeholderHelo('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127').length).toBeLessThanOrEqual(63);
  });
});
