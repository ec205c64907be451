import { describe, expect, it } from 'vitest';
import { addressQueryName, domainQueryName, prefixProbe } from './blocklist-names.js';
import { classifyBlocklistAnswer, formatBlocklistZone, parseBlocklistZones, type BlocklistZone } from './blocklist-zones.js';
import type { DnsOutcome } from './types.js';

const RESOLVER = '192.0.2.53';
const ok = (...records: string[]): DnsOutcome<string> => ({ status: 'ok', resolver: RESOLVER, records });
const ZEN: BlocklistZone = parseBlocklistZones('zen.spamhaus.org:127.0.0.2-127.0.0.11')[0] as BlocklistZone;
const ANY: BlocklistZone = { name: 'bl.example.net' };

describe('addressQueryName', () => {
  it('reverses the octets of an IPv4 address (RFC 5782 §2.1)', () => {
    expect(addressQueryName('192.0.2.99', 'bl.example.net')).toBe('99.2.0.192.bl.example.net');
    expect(addressQueryName('127.0.0.2', 'zen.spamhaus.org')).toBe('2.0.0.127.zen.spamhaus.org');
  });

  it('reverses all 32 nibbles of an IPv6 address (RFC 5782 §2.4)', () => {
    expect(addressQueryName('2001:db8:1:2::3:4', 'bl.example.net')).toBe(
      '4.0.0.0.3.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example.net',
    );
    expect(addressQueryName('2001:DB8::1', 'bl.example.net')?.split('.').slice(0, 32)).toHaveLength(32);
  });

  it('asks about an IPv4-mapped address under its IPv4 name', () => {
    expect(addressQueryName('::ffff:192.0.2.7', 'bl.example.net')).toBe('7.2.0.192.bl.example.net');
  });

  it('builds no name for what is not an address', () => {
    expect(addressQueryName('mail.example.com', 'bl.example.net')).toBeUndefined();
    expect(addressQueryName('192.0.2.1/24', 'bl.example.net')).toBeUndefined();
    expect(addressQueryName('1.2.3', 'bl.example.net')).toBeUndefined();
  });
});

describe('domainQueryName', () => {
  it('puts the name in front of the zone, lowercase, without a trailing dot (RFC 5782 §2.3)', () => {
    expect(domainQueryName('Mail.Example.COM.', 'dbl.spamhaus.org')).toBe('mail.example.com.dbl.spamhaus.org');
  });

  it('builds no name past 253 characters, or from an empty label', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(50)}.example`;
    expect(domainQueryName(long, 'dbl.spamhaus.org')).toBeUndefined();
    expect(domainQueryName('', 'dbl.spamhaus.org')).toBeUndefined();
    expect(domainQueryName('a..example', 'dbl.spamhaus.org')).toBeUndefined();
  });
});

describe('prefixProbe', () => {
  it('looks up a single address as itself', () => {
    expect(prefixProbe('192.0.2.10/32', 256)).toEqual({ prefix: '192.0.2.10/32', addresses: ['192.0.2.10'], total: '1', partial: false });
    expect(prefixProbe('2001:db8::25', 256)).toEqual({ prefix: '2001:db8::25', addresses: ['2001:db8::25'], total: '1', partial: false });
  });

  it('looks up every address of an IPv4 prefix up to the limit', () => {
    const probe = prefixProbe('192.0.2.0/24', 256);
    expect(probe?.addresses).toHaveLength(256);
    expect(probe?.addresses[0]).toBe('192.0.2.0');
    expect(probe?.addresses[255]).toBe('192.0.2.255');
    expect(probe).toMatchObject({ total: '256', partial: false });
    expect(prefixProbe('198.51.100.8/30', 4)?.addresses).toEqual(['198.51.100.8', '198.51.100.9', '198.51.100.10', '198.51.100.11']);
  });

  it('looks up only the network address of a wider IPv4 prefix, and says so', () => {
    expect(prefixProbe('10.20.0.0/16', 256)).toEqual({ prefix: '10.20.0.0/16', addresses: ['10.20.0.0'], total: '65536', partial: true });
    expect(prefixProbe('192.0.2.0/24', 255)).toMatchObject({ addresses: ['192.0.2.0'], total: '256', partial: true });
  });

  it('looks up only the network address of an IPv6 prefix', () => {
    expect(prefixProbe('2001:db8:ab::/48', 256)).toEqual({ prefix: '2001:db8:ab::/48', addresses: ['2001:db8:ab::'], total: '2^80', partial: true });
    expect(prefixProbe('2001:db8::/120', 256)).toMatchObject({ addresses: ['2001:db8::'], total: '256', partial: true });
  });

  it('takes an IPv4-mapped prefix as the IPv4 prefix it is', () => {
    expect(prefixProbe('::ffff:192.0.2.0/126', 256)?.addresses).toEqual(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3']);
  });

  it('refuses what is not a prefix', () => {
    expect(prefixProbe('192.0.2.0/33', 256)).toBeUndefined();
    expect(prefixProbe('192.0.2.0/x', 256)).toBeUndefined();
    expect(prefixProbe('mail.example.com', 256)).toBeUndefined();
  });
});

describe('parseBlocklistZones', () => {
  it('reads zones with and without return codes', () => {
    const zones = parseBlocklistZones(' zen.spamhaus.org:127.0.0.2-127.0.0.11 , BL.Example.NET. ,dbl.example.org:127.0.1.2:127.0.1.0/30');
    expect(zones.map((zone) => zone.name)).toEqual(['zen.spamhaus.org', 'bl.example.net', 'dbl.example.org']);
    expect(zones[1]?.codes).toBeUndefined();
    expect(zones.map(formatBlocklistZone)).toEqual([
      'zen.spamhaus.org:127.0.0.2-127.0.0.11',
      'bl.example.net',
      'dbl.example.org:127.0.1.2:127.0.1.0-127.0.1.3',
    ]);
  });

  it('reads a blank value as no zones', () => {
    expect(parseBlocklistZones('')).toEqual([]);
    expect(parseBlocklistZones('  ')).toEqual([]);
  });

  it.each([
    ['zen.spamhaus.org,,bl.example.net', 'empty entry'],
    ['localhost', '"localhost"'],
    ['bl example.net', '"bl example.net"'],
    ['zen.spamhaus.org,ZEN.spamhaus.org', 'listed twice'],
    ['zen.spamhaus.org:127.0.0.x', '"127.0.0.x"'],
    ['zen.spamhaus.org:127.0.0.11-127.0.0.2', 'ends before it starts'],
    ['zen.spamhaus.org:127.0.0.2-127.0.0.3-127.0.0.4', '"127.0.0.2-127.0.0.3-127.0.0.4"'],
    ['zen.spamhaus.org:192.0.2.1', 'outside 127.0.0.0/8'],
    ['zen.spamhaus.org:126.0.0.0/7', 'outside 127.0.0.0/8'],
    ['zen.spamhaus.org:127.0.0.0/8', 'error answers'],
    ['zen.spamhaus.org:127.255.255.254', 'error answers'],
    [`${'a'.repeat(61)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example`, 'at most 190'],
  ])('refuses %j, naming the problem', (text, named) => {
    expect(() => parseBlocklistZones(text)).toThrow(named);
  });
});

describe('classifyBlocklistAnswer', () => {
  it('counts any 127/8 answer as listed when the zone names no codes', () => {
    expect(classifyBlocklistAnswer(ANY, ok('127.0.0.2'))).toEqual({ status: 'listed', answers: ['127.0.0.2'] });
    expect(classifyBlocklistAnswer(ANY, ok('127.1.2.3', '127.0.0.4', '127.0.0.4'))).toEqual({ status: 'listed', answers: ['127.0.0.4', '127.1.2.3'] });
  });

  it('counts only the configured codes, and reports the others as ignored', () => {
    expect(classifyBlocklistAnswer(ZEN, ok('127.0.0.4'))).toEqual({ status: 'listed', answers: ['127.0.0.4'] });
    expect(classifyBlocklistAnswer(ZEN, ok('127.0.0.11', '127.0.0.12'))).toEqual({ status: 'listed', answers: ['127.0.0.11'] });
    expect(classifyBlocklistAnswer(ZEN, ok('127.0.0.12'))).toEqual({ status: 'not_listed', ignoredAnswers: ['127.0.0.12'] });
  });

  it('reads NXDOMAIN and NODATA as not listed', () => {
    expect(classifyBlocklistAnswer(ZEN, { status: 'nxdomain', resolver: RESOLVER })).toEqual({ status: 'not_listed' });
    expect(classifyBlocklistAnswer(ANY, { status: 'nodata', resolver: RESOLVER })).toEqual({ status: 'not_listed' });
  });

  it.each(['timeout', 'servfail', 'refused', 'error'] as const)('never reads %s as listed', (status) => {
    const verdict = classifyBlocklistAnswer(ANY, { status, resolver: RESOLVER, error: 'ECODE' });
    expect(verdict).toEqual({ status: 'unknown', reason: `${status} (ECODE)` });
  });

  it('reads the lists’ error answers in 127.255.255.0/24 as unknown, with their meaning', () => {
    expect(classifyBlocklistAnswer(ANY, ok('127.255.255.254'))).toEqual({
      status: 'unknown',
      reason: 'the list refused the query (asked through a public or open resolver): 127.255.255.254',
      answers: ['127.255.255.254'],
    });
    expect(classifyBlocklistAnswer(ZEN, ok('127.255.255.255'))).toMatchObject({ status: 'unknown', reason: expect.stringContaining('too many queries') });
    expect(classifyBlocklistAnswer(ANY, ok('127.255.255.1', '127.0.0.2'))).toMatchObject({ status: 'unknown' });
  });

  it('reads an answer outside 127/8 as unknown: not a blocklist answer', () => {
    expect(classifyBlocklistAnswer(ANY, ok('192.0.2.80'))).toEqual({
      status: 'unknown',
      reason: 'not a blocklist answer (192.0.2.80 is outside 127.0.0.0/8)',
      answers: ['192.0.2.80'],
    });
    expect(classifyBlocklistAnswer(ZEN, ok('127.0.0.2', '198.51.100.1'))).toMatchObject({ status: 'unknown' });
  });
});
