import { describe, expect, it } from 'vitest';
import type { ListedFinding, UnknownFinding } from '@app/dns';
import { blocklistVerdict, describeListings, listingsAgainst } from './blocklist-rules.js';

const listing = (subject: string, zone = 'bl.example.net', answers = ['127.0.0.2']): ListedFinding => ({
  subject,
  zone,
  query: `q.${zone}`,
  answers,
});
const unknown = (subject: string, zone = 'bl.example.net'): UnknownFinding => ({ subject, zone, query: `q.${zone}`, reason: 'timeout (ETIMEOUT)' });

describe('describeListings', () => {
  it('names each address or name, the zone and the answer, with the list’s reason', () => {
    expect(describeListings([{ ...listing('192.0.2.1'), reason: 'spam source' }, listing('mx.example.com', 'dbl.example.org', ['127.0.1.2'])])).toBe(
      '192.0.2.1 in bl.example.net (127.0.0.2: spam source); mx.example.com in dbl.example.org (127.0.1.2)',
    );
  });

  it('stops after five and says how many more', () => {
    const many = Array.from({ length: 8 }, (_, index) => listing(`192.0.2.${index}`));
    expect(describeListings(many)).toMatch(/192\.0\.2\.4 in bl\.example\.net \(127\.0\.0\.2\); and 3 more$/);
  });
});

describe('listingsAgainst', () => {
  it('leaves out what an override accepted, whatever the answer code now', () => {
    const accepted = [{ subject: '192.0.2.1', zone: 'bl.example.net', answers: ['127.0.0.2'] }];
    expect(listingsAgainst({ listed: [listing('192.0.2.1', 'bl.example.net', ['127.0.0.4'])] }, accepted)).toEqual([]);
    expect(listingsAgainst({ listed: [listing('192.0.2.1', 'other.example.net'), listing('192.0.2.2')] }, accepted)).toHaveLength(2);
    expect(listingsAgainst({ listed: [listing('192.0.2.1')] }, null)).toHaveLength(1);
  });
});

describe('blocklistVerdict', () => {
  it('suspends a running exception that is listed, once', () => {
    expect(blocklistVerdict(false, { listed: [listing('192.0.2.1')], unknown: [] }, null)).toBe('suspend');
    expect(blocklistVerdict(true, { listed: [listing('192.0.2.1')], unknown: [] }, null)).toBe('unchanged');
  });

  it('does not suspend for a listing the override accepted', () => {
    const accepted = [{ subject: '192.0.2.1', zone: 'bl.example.net', answers: ['127.0.0.2'] }];
    expect(blocklistVerdict(false, { listed: [listing('192.0.2.1')], unknown: [] }, accepted)).toBe('unchanged');
    expect(blocklistVerdict(false, { listed: [listing('192.0.2.9')], unknown: [] }, accepted)).toBe('suspend');
  });

  it('restores only after a clean check: DNS trouble is neither listed nor delisted', () => {
    expect(blocklistVerdict(true, { listed: [], unknown: [] }, null)).toBe('restore');
    expect(blocklistVerdict(true, { listed: [], unknown: [unknown('192.0.2.1')] }, null)).toBe('unchanged');
    expect(blocklistVerdict(false, { listed: [], unknown: [unknown('192.0.2.1')] }, null)).toBe('unchanged');
    expect(blocklistVerdict(false, { listed: [], unknown: [] }, null)).toBe('unchanged');
  });
});
