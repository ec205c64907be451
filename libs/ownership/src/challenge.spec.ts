import { describe, expect, it } from 'vitest';
import type { DnsOutcome, ResolverCheck } from '@app/dns';
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
    expect(judged.findings).toEqual([{ resolver: 'r1', status: 'ok', values: [], matched: false, error: judged.detail, resolverBroken: null }]);
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

  describe('a resolver that fails its canary check', () => {
    const broken = (resolver: string): ResolverCheck => ({
      resolver,
      status: 'broken',
      canary: 'a.root-servers.net',
      detail: 'answered NXDOMAIN for the canary a.root-servers.net, a name that always exists',
      checkedAt: new Date(0),
    });

    it('makes its NXDOMAIN "cannot tell: our resolver looks broken", never "not published"', () => {
      const judged = judgeChallenge([{ status: 'nxdomain', resolver: '10.0.0.53:53' }], expected, new Map([['10.0.0.53:53', broken('10.0.0.53:53')]]));
      expect(judged.verdict).toBe('unreachable');
      expect(judged.detail).toMatch(/^cannot tell: our resolver 10\.0\.0\.53:53 \(it answered NXDOMAIN for the canary a\.root-servers\.net/);
      expect(judged.detail).not.toContain('not published');
      expect(judged.findings[0]).toMatchObject({ resolver: '10.0.0.53:53', status: 'nxdomain', resolverBroken: expect.stringContaining('canary') });
    });

    it('is left out while a healthy resolver answers, and named', () => {
      const judged = judgeChallenge(
        [ok('r1', expected), { status: 'nxdomain', resolver: 'r2' }],
        expected,
        new Map([['r2', broken('r2')]]),
      );
      expect(judged.verdict).toBe('match');
      expect(judged.detail).toContain('(not counted: our resolver r2');
    });

    it('names the resolvers that said NXDOMAIN when they are healthy', () => {
      expect(judgeChallenge([{ status: 'nxdomain', resolver: '192.0.2.53:53' }], expected).detail).toBe(
        'the record name does not exist (NXDOMAIN from 192.0.2.53:53): the TXT record is not published',
      );
    });
  });
});
