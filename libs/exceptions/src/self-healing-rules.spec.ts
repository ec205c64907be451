import { describe, expect, it } from 'vitest';
import { describeSighting, healingStep, heloHealth, type HeloLookupSeen, type HeloSighting } from './self-healing-rules.js';

const ok = (...records: string[]): HeloLookupSeen => ({ status: 'ok', records, resolver: '127.0.0.1:53', error: null });
const none = (status: 'nxdomain' | 'nodata'): HeloLookupSeen => ({ status, records: [], resolver: '127.0.0.1:53', error: null });
const trouble = (status: 'timeout' | 'servfail'): HeloLookupSeen => ({ status, records: [], resolver: '127.0.0.1:53', error: status });

function sighting(heloHostname: string, a: HeloLookupSeen, aaaa = none('nodata'), mx = none('nodata'), brokenResolver: string | null = null): HeloSighting {
  return { heloHostname, checkedAt: new Date(0), a, aaaa, mx, brokenResolver };
}

describe('heloHealth (what Postfix would make of the HELO name now)', () => {
  it('passes when any of A, AAAA or MX is found', () => {
    expect(heloHealth(sighting('mx.example.com', ok('192.0.2.1')))).toBe('passes');
    expect(heloHealth(sighting('mx.example.com', none('nodata'), ok('2001:db8::1')))).toBe('passes');
    expect(heloHealth(sighting('mx.example.com', trouble('timeout'), none('nodata'), ok('10 mail.example.com')))).toBe('passes');
  });

  it('fails on a definite "no such name" or "no record"', () => {
    expect(heloHealth(sighting('exch01.corp.example', none('nxdomain'), none('nxdomain'), none('nxdomain')))).toBe('fails');
    expect(heloHealth(sighting('exch01.corp.example', none('nodata')))).toBe('fails');
  });

  it('fails without DNS when reject_invalid_helo_hostname refuses the name, whatever DNS says', () => {
    expect(heloHealth(sighting('-bad-.example.com', ok('192.0.2.1')))).toBe('fails');
  });

  it('never counts DNS trouble as fixed, nor a broken resolver\'s "no such name" as broken', () => {
    expect(heloHealth(sighting('mx.example.com', trouble('servfail'), trouble('servfail'), trouble('timeout')))).toBe('unknown');
    expect(heloHealth(sighting('mx.example.com', none('nxdomain'), none('nxdomain'), none('nxdomain'), 'cannot tell'))).toBe('unknown');
  });
});

describe('healingStep', () => {
  const now = new Date('2026-12-20T00:00:00Z');
  const day = 86_400_000;
  const grace = 14 * day;
  const since = (days: number) => new Date(now.getTime() - days * day);

  it('marks once, revokes after the grace, never while kept', () => {
    expect(healingStep('passes', { noLongerNeededSince: null, kept: false }, now, grace)).toEqual({ kind: 'mark' });
    expect(healingStep('passes', { noLongerNeededSince: since(13), kept: false }, now, grace)).toEqual({ kind: 'none', why: 'in_grace' });
    expect(healingStep('passes', { noLongerNeededSince: since(14), kept: false }, now, grace)).toEqual({ kind: 'revoke' });
    expect(healingStep('passes', { noLongerNeededSince: since(40), kept: true }, now, grace)).toEqual({ kind: 'none', why: 'kept' });
  });

  it('clears the mark when the name fails again; unknown changes nothing', () => {
    expect(healingStep('fails', { noLongerNeededSince: since(3), kept: false }, now, grace)).toEqual({ kind: 'clear' });
    expect(healingStep('fails', { noLongerNeededSince: null, kept: false }, now, grace)).toEqual({ kind: 'none', why: 'still_needed' });
    expect(healingStep('unknown', { noLongerNeededSince: since(40), kept: false }, now, grace)).toEqual({ kind: 'none', why: 'dns_unknown' });
  });
});

describe('describeSighting', () => {
  it('names the records found', () => {
    expect(describeSighting({ a: ok('192.0.2.1'), aaaa: none('nodata'), mx: ok('10 mx.example.com') })).toBe('A 192.0.2.1; MX 10 mx.example.com');
    expect(describeSighting({ a: none('nxdomain'), aaaa: none('nxdomain'), mx: none('nxdomain') })).toBe('no record');
  });
});
