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
});
