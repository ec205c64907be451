import { describe, expect, it } from 'vitest';
import { TargetPolicy } from './target-policy.js';

const strict = new TargetPolicy({ allowPrivateRanges: false, allowedPrefixes: [] });
const internal = new TargetPolicy({ allowPrivateRanges: true, allowedPrefixes: [] });
const listed = new TargetPolicy({ allowPrivateRanges: false, allowedPrefixes: ['127.0.0.1/32', '10.20.0.0/16', 'fd00:1::/32'] });

describe('TargetPolicy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['::', 'unspecified'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::7f00:1', 'non-public (rfc6052)'],
    ['2002:7f00:1::1', 'non-public (6to4)'],
  ])('refuses %s by default (%s)', (address, range) => {
    expect(strict.refusal(address)).toContain(`a ${range} address`);
  });

  it('allows global unicast addresses', () => {
    for (const address of ['93.184.215.14', '2606:4700::1111', '::ffff:93.184.215.14']) {
      expect(strict.refusal(address)).toBeNull();
      expect(strict.isPublic(address)).toBe(true);
    }
  });

  it('with true allows a network\'s own machines, never link-local, multicast or unspecified', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.10', '100.64.1.1', 'fd12::1', '::1']) {
      expect(internal.refusal(address), address).toBeNull();
      expect(internal.isPublic(address)).toBe(false);
    }
    for (const address of ['169.254.169.254', 'fe80::1', '224.0.0.1', '0.0.0.0', '::']) {
      expect(internal.refusal(address), address).not.toBeNull();
    }
  });

  it('with a list allows exactly the listed addresses and prefixes besides public ones', () => {
    expect(listed.refusal('127.0.0.1')).toBeNull();
    expect(listed.refusal('10.20.255.1')).toBeNull();
    expect(listed.refusal('fd00:1::5')).toBeNull();
    expect(listed.refusal('127.0.0.2')).toContain('loopback');
    expect(listed.refusal('10.21.0.1')).toContain('private');
    expect(listed.refusal('93.184.215.14')).toBeNull();
  });

  it('names what is not an address', () => {
    expect(strict.refusal('exch01.corp.local')).toBe('not an IP address');
  });
});
