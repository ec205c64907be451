import { describe, expect, it } from 'vitest';
import type { ExceptionRulesConfig } from '@app/config';
import { domainsReliedOn } from './exception-cascade.js';
import { altersFeed } from './exception-decisions.service.js';
import { approvalReasons, effectiveStatus, grantWindow, needsAdminApproval } from './exception-rules.js';
import { heloScopeRefusal, missingProof, restsOnSpfAlone, serverChanges } from './grant-proof.js';
import type { ExceptionRecord } from './exceptions.repository.js';

const DAY = 86_400_000;
const rules: ExceptionRulesConfig = { defaultDays: 90, maxDays: 365, approvalDays: 90, approvalPrefixV4: 24, approvalPrefixV6: 48 };
const now = new Date('2026-06-01T00:00:00Z');

describe('exception rules', () => {
  it('reads a running exception past its expiry as expired, at the exact instant', () => {
    const expiresAt = new Date(now.getTime() + 1000);
    expect(effectiveStatus({ status: 'active', expiresAt }, new Date(expiresAt.getTime() - 1))).toBe('active');
    expect(effectiveStatus({ status: 'active', expiresAt }, expiresAt)).toBe('expired');
    expect(effectiveStatus({ status: 'pending_approval', expiresAt }, expiresAt)).toBe('expired');
    expect(effectiveStatus({ status: 'revoked', expiresAt }, expiresAt)).toBe('revoked');
  });

  it('names every reason a grant needs a second person', () => {
    const base = { scope: 'pair' as const, override: false, spfOnly: false, addresses: ['192.0.2.0/24', '2001:db8::/48'], durationMs: 90 * DAY };
    expect(approvalReasons(base, rules)).toEqual([]);
    expect(approvalReasons({ ...base, override: true }, rules)).toEqual(['override']);
    expect(approvalReasons({ ...base, scope: 'helo' }, rules)).toEqual(['helo_scope']);
    expect(approvalReasons({ ...base, addresses: ['192.0.2.0/23'] }, rules)).toEqual(['wide_prefix']);
    expect(approvalReasons({ ...base, addresses: ['2001:db8::/47'] }, rules)).toEqual(['wide_prefix']);
    expect(approvalReasons({ ...base, durationMs: 90 * DAY + 1 }, rules)).toEqual(['long_duration']);
    // A helo exception does not look at addresses.
    expect(approvalReasons({ ...base, scope: 'helo', addresses: ['10.0.0.0/16'] }, rules)).toEqual(['helo_scope']);
    // SPF alone is the customer's claim: a second person accepts it; overrides and helo grants do not rest on addresses.
    expect(approvalReasons({ ...base, spfOnly: true }, rules)).toEqual(['spf_only']);
    expect(approvalReasons({ ...base, spfOnly: true, scope: 'ip', addresses: ['192.0.2.0/23'] }, rules)).toEqual(['spf_only', 'wide_prefix']);
    expect(approvalReasons({ ...base, spfOnly: true, override: true }, rules)).toEqual(['override']);
    expect(approvalReasons({ ...base, spfOnly: true, scope: 'helo' }, rules)).toEqual(['helo_scope']);
    expect(needsAdminApproval({ scope: 'ip', override: false })).toBe(false);
    expect(needsAdminApproval({ scope: 'helo', override: false })).toBe(true);
  });

  it('computes the window: defaults, and refusals for the past, inversion and the maximum', () => {
    expect(grantWindow({}, now, rules)).toEqual({ startsAt: now, expiresAt: new Date(now.getTime() + 90 * DAY) });
    const later = new Date(now.getTime() + 10 * DAY);
    expect(grantWindow({ startsAt: later }, now, rules)).toEqual({ startsAt: later, expiresAt: new Date(later.getTime() + 90 * DAY) });
    expect(grantWindow({ expiresAt: now }, now, rules)).toEqual({ problem: 'expiresAt must be in the future' });
    expect(grantWindow({ startsAt: later, expiresAt: new Date(later.getTime() - 1) }, now, rules)).toEqual({ problem: 'expiresAt must be after startsAt' });
    expect(grantWindow({ expiresAt: new Date(now.getTime() + 365 * DAY) }, now, rules)).toHaveProperty('expiresAt');
    expect(grantWindow({ expiresAt: new Date(now.getTime() + 365 * DAY + 1) }, now, rules)).toHaveProperty('problem');
  });

  it('knows which domains a grant rests on (none for an override)', () => {
    const evidence = {
      helo: { domain: 'example.com' },
      addressEvidence: [{ domain: 'example.com' }, { domain: 'example.net' }, { domain: null }],
    };
    expect(domainsReliedOn({ override: false, scope: 'pair', evidence })).toEqual(['example.com', 'example.net']);
    expect(domainsReliedOn({ override: false, scope: 'helo', evidence })).toEqual(['example.com']);
    expect(domainsReliedOn({ override: true, scope: 'pair', evidence })).toEqual([]);
  });

  it('bumps the feed only when the active set or an active end changes', () => {
    const record = (status: ExceptionRecord['status'], days = 10) =>
      ({ status, expiresAt: new Date(now.getTime() + days * DAY) }) as ExceptionRecord;
    expect(altersFeed(record('pending_approval'), record('active'))).toBe(true);
    expect(altersFeed(record('active'), record('revoked'))).toBe(true);
    expect(altersFeed(record('active', 10), record('active', 20))).toBe(true);
    expect(altersFeed(record('pending_approval'), record('rejected'))).toBe(false);
    expect(altersFeed(record('pending_approval', 10), record('pending_approval', 20))).toBe(false);
    expect(altersFeed(record('active'), record('active'))).toBe(false);
  });

  it('refuses a helo exception naming a public suffix (ICANN or private), and only a helo one', () => {
    for (const suffix of ['com', 'co.uk', 'github.io', 'uk']) {
      expect(heloScopeRefusal('helo', suffix), suffix).toContain('public suffix');
      expect(heloScopeRefusal('pair', suffix)).toBeNull();
    }
    for (const name of ['mx.example.com', 'example.co.uk', 'exch01', 'exch01.corp.local', 'local', 'exch_03']) {
      expect(heloScopeRefusal('helo', name), name).toBeNull();
    }
  });

  it('names what a grant lacks, and whether its addresses rest on SPF alone', () => {
    const evidence = {
      helo: { heloHostname: 'mx.example.com', proven: false, domain: null, reason: 'not inside a verified domain' },
      heloProven: false,
      addressEvidence: [
        { address: '192.0.2.1/32', proven: true, method: 'ptr' as const, domain: 'example.com', ptrNames: [], spfMechanism: null, reason: 'ptr' },
        { address: '192.0.2.2/32', proven: true, method: 'spf' as const, domain: 'example.com', ptrNames: [], spfMechanism: 'ip4:192.0.2.2', reason: 'spf' },
        { address: '192.0.2.3/32', proven: false, method: null, domain: null, ptrNames: [], spfMechanism: null, reason: 'no PTR record' },
      ],
    };
    expect(missingProof('pair', evidence)).toEqual(['address 192.0.2.3/32: no PTR record']);
    expect(missingProof('helo', evidence)).toEqual(['heloHostname mx.example.com: not inside a verified domain']);
    expect(restsOnSpfAlone('ip', evidence)).toBe(true);
    expect(restsOnSpfAlone('helo', evidence)).toBe(false);
    expect(restsOnSpfAlone('pair', { addressEvidence: [evidence.addressEvidence[0]!] })).toBe(false);
    // Evidence stored before the method was reported reads as not SPF-only.
    expect(restsOnSpfAlone('pair', {} as never)).toBe(false);
  });

  it('says how a server differs from what was granted', () => {
    const granted = { heloHostname: 'mx.example.com', addresses: ['192.0.2.1/32', '192.0.2.2/32'] };
    expect(serverChanges(granted, { heloHostname: 'mx.example.com', addresses: ['192.0.2.2/32', '192.0.2.1/32'] })).toEqual([]);
    expect(serverChanges(granted, { heloHostname: 'mx2.example.com', addresses: ['192.0.2.1/32'] })).toEqual([
      'it now announces mx2.example.com, not mx.example.com',
      'it no longer holds 192.0.2.2/32',
    ]);
    expect(serverChanges(granted, { ...granted, addresses: [...granted.addresses, '192.0.2.9/32'] })).toEqual(['it now also holds 192.0.2.9/32']);
    expect(serverChanges(granted, null)).toEqual(['the mail server was deleted']);
  });
});
