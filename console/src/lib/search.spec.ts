import { describe, expect, it } from 'vitest';
import { planSearch } from './search.js';

describe('planSearch', () => {
  it('reads an exception id', () => {
    expect(planSearch(' 6F1C2A7E-1B7D-4C3A-9E0B-2D4F5A6B7C8D ')).toEqual({ kind: 'exception-id', id: '6f1c2a7e-1b7d-4c3a-9e0b-2d4f5a6b7c8d' });
  });

  it('reads addresses, prefixes and address literals', () => {
    expect(planSearch('192.0.2.10')).toEqual({ kind: 'address', address: '192.0.2.10' });
    expect(planSearch('192.0.2.0/24')).toEqual({ kind: 'address', address: '192.0.2.0/24' });
    expect(planSearch('[192.0.2.1]')).toEqual({ kind: 'address', address: '192.0.2.1' });
    expect(planSearch('2001:db8::1')).toEqual({ kind: 'address', address: '2001:db8::1' });
    expect(planSearch('[IPv6:2001:db8::1]')).toEqual({ kind: 'address', address: '2001:db8::1' });
  });

  it('reads a dotted name as a HELO name (lowercased, without a trailing dot), still searching organizations', () => {
    expect(planSearch('EXCH01.Corp.Local.')).toEqual({ kind: 'helo', helo: 'exch01.corp.local', alsoOrganizations: 'EXCH01.Corp.Local.' });
    expect(planSearch('exch_01.corp.local').kind).toBe('helo');
  });

  it('reads anything else as an organization name or customer reference', () => {
    expect(planSearch('Acme Mail GmbH')).toEqual({ kind: 'organization', text: 'Acme Mail GmbH' });
    expect(planSearch('CUST-0042')).toEqual({ kind: 'organization', text: 'CUST-0042' });
    expect(planSearch('   ')).toEqual({ kind: 'empty' });
  });
});
