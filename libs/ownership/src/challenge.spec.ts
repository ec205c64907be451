import { describe, expect, it } from 'vitest';
import type { DnsOutcome } from '@app/dns';
import { challengeRecordName, challengeValue, isIcannPublicSuffix, judgeChallenge, newChallengeToken } from './challenge.js';

const ok = (resolver: string, ...records: string[]): DnsOutcome<string> => ({ status: 'ok', resolver, records });
const expected = 'mailmax-verification=abc123';

describe('challenge', () => {
  it('names the record and its value from the provider label', () => {
    expect(challengeRecordName('mailmax', 'example.com')).toBe('_mailmax-challenge.example.com');
    expect(challengeValue('mailmax', 'abc')).toBe('mailmax-verification=abc');
  });

  it('makes tokens of at least 128 random bits', () => {
    const tokens = new Set(Array.from({ length: 100 }, newChallengeToken));
    expect(tokens.size).toBe(100);
    for (const token of tokens) {
      expect(token).toMatch(/^[0-9a-f]{32,}$/);
    }
  });

  it('knows ICANN public suffixes', () => {
    expect(isIcannPublicSuffix('com')).toBe(true);
    expect(isIcannPublicSuffix('co.uk')).toBe(true);
    expect(isIcannPublicSuffix('example.co.uk')).toBe(false);
    expect(isIcannPublicSuffix('corp.local')).toBe(false);
  });

  it('matches any record of the set, ignoring case and surrounding blanks', () => {
    expect(judgeChallenge([ok('r1', 'v=spf1 -all', ` ${expected.toUpperCase()} `)], expected).verdict).toBe('match');
  });

  it('tells a wrong value from an absent record', () => {
    expect(judgeChallenge([ok('r1', 'mailmax-verification=zzz')], expected).verdict).toBe('mismatch');
    expect(judgeChallenge([{ status: 'nxdomain', resolver: 'r1' }], expected)).toMatchObject({ verdict: 'absent' });
    expect(judgeChallenge([{ status: 'nodata', resolver: 'r1' }], expected).detail).toContain('no TXT record');
  });

  it('needs every answering resolver to agree; silent ones do not count', () => {
    const timeout: DnsOutcome<string> = { status: 'timeout', resolver: 'r2', error: 'ETIMEOUT' };
    expect(judgeChallenge([ok('r1', expected), ok('r2', 'other')], expected).verdict).toBe('disagreement');
    expect(judgeChallenge([ok('r1', expected), { status: 'nxdomain', resolver: 'r2' }], expected).verdict).toBe('disagreement');
    expect(judgeChallenge([ok('r1', expected), timeout], expected).verdict).toBe('match');
    const none = judgeChallenge([timeout, { status: 'servfail', resolver: 'r3', error: 'ESERVFAIL' }], expected);
    expect(none.verdict).toBe('unreachable');
    expect(none.findings.map((finding) => finding.error)).toEqual(['ETIMEOUT', 'ESERVFAIL']);
  });

  it('neither reads nor keeps a record set over the size cap, and says why: an answer that does not match', () => {
    const junk = Array.from({ length: 240 }, () => 'x'.repeat(255));
    const judged = judgeChallenge([ok('r1', expected, ...junk)], expected);
    expect(judged.verdict).toBe('mismatch');
    expect(judged.detail).toBe(
      `the TXT records at the name total ${expected.length + 240 * 255} characters, more than the 4096 HeloPass reads; publish only the challenge record there`,
    );
    expect(judged.findings).toEqual([{ resolver: 'r1', status: 'ok', values: [], matched: false, error: judged.detail }]);
    // Just under the cap, the same record is read and matches.
    const small = Array.from({ length: 15 }, () => 'x'.repeat(255));
    expect(judgeChallenge([ok('r1', expected, ...small)], expected).verdict).toBe('match');
  });

  it('says why no resolver could answer, a check deadline included', () => {
    const late: DnsOutcome<string> = { status: 'timeout', resolver: 'r1', error: 'EDEADLINE: deadline exceeded after 1 lookup' };
    expect(judgeChallenge([late], expected).detail).toBe(
      'no resolver could answer (r1: timeout (EDEADLINE: deadline exceeded after 1 lookup)); will retry',
    );
  });
});
