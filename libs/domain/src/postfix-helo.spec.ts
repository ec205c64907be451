import { describe, expect, it } from 'vitest';
import { loadHeloTable, type HeloTable } from '../../../scripts/mailhost/helo-table.js';
import { isPostfixIpv4, isPostfixIpv6, postfixHeloVerdict, readHeloArgument, type HeloLookupResult } from './postfix-helo.js';

const table = loadHeloTable();

/** What Postfix's A, AAAA and MX lookups of `name` find in the table's zone (CNAMEs followed). */
function lookups(zone: HeloTable['zone'], name: string): HeloLookupResult[] {
  const entry = (owner: string) => Object.entries(zone).find(([key]) => key.toLowerCase() === owner.toLowerCase())?.[1];
  return (['A', 'AAAA', 'MX'] as const).map((type) => {
    let found = entry(name);
    for (let hops = 0; found?.CNAME !== undefined && hops < 8; hops++) {
      found = entry(found.CNAME);
    }
    if (found === undefined) {
      return 'not_found';
    }
    if (found.servfail) {
      return 'unknown';
    }
    return (found[type]?.length ?? 0) > 0 ? 'found' : 'not_found';
  });
}

describe('Postfix HELO checks: the HELO table (scripts/mailhost/helo-table.json, checked against the real Postfix by verify.sh)', () => {
  it('has rows for every form the diagnostics must get right', () => {
    const forms = table.rows.map((row) => readHeloArgument(row.helo).form);
    expect(new Set(forms)).toEqual(new Set(['hostname', 'address_literal', 'address', 'none']));
    expect(table.rows.length).toBeGreaterThanOrEqual(50);
  });

  it.each(table.rows.map((row) => [row.form, row] as const))('%s', (_form, row) => {
    const argument = readHeloArgument(row.helo);
    const verdict = postfixHeloVerdict(argument, argument.lookup === null ? [] : lookups(table.zone, argument.lookup));
    expect(verdict.reply).toBe(row.reply);
    // Accepted rows have no reply; a reply is a rejection, or a deferral while DNS cannot tell.
    expect(verdict.rejected === false).toBe(row.reply === null);
  });
});

describe('Postfix HELO syntax', () => {
  it('takes address literals as valid, and reject_unknown_helo_hostname lets them through', () => {
    for (const literal of ['[192.0.2.1]', '[IPv6:2001:db8::1]', '[ipv6:::1]', '[IPv6:::ffff:192.0.2.1]', '[0.0.0.0]']) {
      const argument = readHeloArgument(literal);
      expect(argument).toMatchObject({ form: 'address_literal', valid: true, lookup: null });
      expect(postfixHeloVerdict(argument, []).rejected).toBe(false);
    }
  });

  it('reads IPv4 as valid_ipv4_hostaddr does', () => {
    expect(['192.0.2.1', '0.0.0.0', '000.0.0.0', '010.001.002.003', '255.255.255.255'].filter((a) => !isPostfixIpv4(a))).toEqual([]);
    expect(['0.1.2.3', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1..2.3', '1.2.3.', '.1.2.3', 'a.b.c.d', ''].filter(isPostfixIpv4)).toEqual([]);
  });

  it('reads IPv6 as valid_ipv6_hostaddr does', () => {
    const valid = ['::', '::1', '1::', '2001:db8::1', '1:2:3:4:5:6:7:8', '::ffff:192.0.2.1', '1:2:3:4:5:6:192.0.2.1', 'FE80::1'];
    expect(valid.filter((a) => !isPostfixIpv6(a))).toEqual([]);
    const invalid = [':1::', '1:2', '1:2:3:4:5:6:7:8:9', '1::2::3', '2001:db8:', '12345::', 'fe80::1%eth0', '1:2:3:4:5:6:7:1.2.3.4', 'g::1', ''];
    expect(invalid.filter(isPostfixIpv6)).toEqual([]);
  });

  it('shows blanks, controls and <>()\\";@ as ? in a reply, and keeps UTF-8', () => {
    expect(readHeloArgument('a "b" (c) <d> e;f@g\\h\u0001').shown).toBe('a??b???c???d??e?f?g?h?');
    expect(readHeloArgument('bücher.example').shown).toBe('bücher.example');
  });

  it('never repeats the name in its problem', () => {
    for (const helo of ['exch..corp', '-x.example', 'x'.repeat(64), '1234', 'exch!01', '[exch01]']) {
      const { problem } = readHeloArgument(helo);
      expect(problem).not.toBeNull();
      expect(problem).not.toContain(helo);
    }
  });

  it('stays linear on long hostile input', () => {
    const long = `${'a-'.repeat(50_000)}.example`;
    expect(readHeloArgument(long).valid).toBe(false);
    expect(readHeloArgument(`[IPv6:${'1:'.repeat(50_000)}]`).valid).toBe(false);
  });
});
