import { describe, expect, it } from 'vitest';
import {
  InvalidAddressError,
  MIN_PREFIX_LENGTH,
  canonicalFromInet,
  hostAndPort,
  normalizeAddress,
  normalizePrefix,
} from './address.js';

function refusal(run: () => unknown): InvalidAddressError {
  try {
    const accepted = run();
    throw new Error(`expected a refusal, got ${JSON.stringify(accepted)}`);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAddressError);
    return error as InvalidAddressError;
  }
}

const prefixRefusal = (input: string) => refusal(() => normalizePrefix(input));
const addressRefusal = (input: string) => refusal(() => normalizeAddress(input));

describe('normalizePrefix', () => {
  describe('IPv4', () => {
    it('turns a single address into a /32', () => {
      expect(normalizePrefix('192.0.2.10')).toEqual({ cidr: '192.0.2.10/32', family: 'ipv4', length: 32 });
    });

    it('keeps an explicit /32', () => {
      expect(normalizePrefix('192.0.2.10/32')).toEqual({ cidr: '192.0.2.10/32', family: 'ipv4', length: 32 });
    });

    it('accepts a network address with its length', () => {
      expect(normalizePrefix('192.0.2.0/24')).toEqual({ cidr: '192.0.2.0/24', family: 'ipv4', length: 24 });
      expect(normalizePrefix('198.51.100.128/25').cidr).toBe('198.51.100.128/25');
    });

    it('drops leading zeros of the prefix length', () => {
      expect(normalizePrefix('192.0.2.10/032').cidr).toBe('192.0.2.10/32');
    });

    it('refuses a prefix with host bits set instead of widening it', () => {
      expect(prefixRefusal('192.0.2.10/24').message).toMatch(/host bits/);
      expect(prefixRefusal('198.51.100.129/25').message).toMatch(/host bits/);
    });

    it.each(['127.1', '0x7f.0.0.1', '0177.0.0.1', '010.0.0.1', '192.0.2.010', '3221225985', '192.0.2', '192.0.2.1.5'])(
      'refuses the non-dotted-quad form %j',
      (input) => {
        expect(prefixRefusal(input).message).toMatch(/dotted-quad/);
      },
    );

    it.each(['256.0.0.1', '192.0.2.-1', '192.0.2.1a', 'a.b.c.d'])('refuses the invalid address %j', (input) => {
      prefixRefusal(input);
    });
  });

  describe('IPv6', () => {
    it('answers the compressed RFC 5952 form', () => {
      expect(normalizePrefix('2001:DB8:0:0::/64')).toEqual({ cidr: '2001:db8::/64', family: 'ipv6', length: 64 });
      expect(normalizePrefix('2001:0db8:0000:0000:0000:0000:0000:0001').cidr).toBe('2001:db8::1/128');
    });

    it('compresses the longest run of zero groups, the first when tied (RFC 5952 §4.2.3)', () => {
      expect(normalizePrefix('2001:db8:0:0:1:0:0:0').cidr).toBe('2001:db8:0:0:1::/128');
      expect(normalizePrefix('2001:db8:0:0:1:0:0:1').cidr).toBe('2001:db8::1:0:0:1/128');
    });

    it('does not compress a single zero group (RFC 5952 §4.2.2)', () => {
      expect(normalizePrefix('2001:db8:0:1:1:1:1:1').cidr).toBe('2001:db8:0:1:1:1:1:1/128');
    });

    it('turns a single address into a /128', () => {
      expect(normalizePrefix('2001:db8::10')).toEqual({ cidr: '2001:db8::10/128', family: 'ipv6', length: 128 });
    });

    it('refuses a prefix with host bits set', () => {
      expect(prefixRefusal('2001:db8::1/64').message).toMatch(/host bits/);
    });

    it('refuses zone ids', () => {
      prefixRefusal('fe80::1%eth0');
      prefixRefusal('fe80::1%1/128');
    });

    it.each(['2001:db8::1::2', '2001:db8:::1', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', ':'])(
      'refuses the invalid address %j',
      (input) => {
        prefixRefusal(input);
      },
    );

    it('accepts a dotted-quad tail in a plain IPv6 address', () => {
      expect(normalizePrefix('2001:db8::192.0.2.1').cidr).toBe('2001:db8::c000:201/128');
    });

    it('keeps an IPv4-compatible (not mapped) address as IPv6, like its hex spelling', () => {
      expect(normalizePrefix('::192.0.2.1')).toEqual({ cidr: '::c000:201/128', family: 'ipv6', length: 128 });
      expect(normalizePrefix('::c000:201').cidr).toBe('::c000:201/128');
    });
  });

  describe('IPv4-mapped IPv6', () => {
    it('stores ::ffff:192.0.2.1 as IPv4', () => {
      expect(normalizePrefix('::ffff:192.0.2.1')).toEqual({ cidr: '192.0.2.1/32', family: 'ipv4', length: 32 });
      expect(normalizePrefix('::FFFF:192.0.2.1').cidr).toBe('192.0.2.1/32');
    });

    it('stores the hex spelling ::ffff:c000:201 as IPv4 too', () => {
      expect(normalizePrefix('::ffff:c000:201').cidr).toBe('192.0.2.1/32');
      expect(normalizePrefix('::ffff:c000:201/128').cidr).toBe('192.0.2.1/32');
    });

    it('translates the prefix length', () => {
      expect(normalizePrefix('::ffff:192.0.2.0/120')).toEqual({ cidr: '192.0.2.0/24', family: 'ipv4', length: 24 });
      expect(normalizePrefix('::ffff:c000:200/120').cidr).toBe('192.0.2.0/24');
      expect(normalizePrefix('::ffff:192.0.2.1/128').cidr).toBe('192.0.2.1/32');
    });

    it('refuses host bits set in a mapped prefix', () => {
      expect(prefixRefusal('::ffff:192.0.2.1/120').message).toMatch(/host bits/);
    });

    it('refuses a mapped prefix reaching beyond the mapped range', () => {
      prefixRefusal('::ffff:192.0.2.1/95');
    });

    it.each(['::ffff:0x7f.0.0.1', '::ffff:127.1', '::ffff:010.0.0.1', '::ffff:192.0.2.1.5', '::ffff:256.0.0.1'])(
      'refuses the non-dotted-quad embedded IPv4 %j',
      (input) => {
        expect(prefixRefusal(input).message).toMatch(/dotted-quad/);
      },
    );

    it('refuses a zone id on a mapped address', () => {
      prefixRefusal('::ffff:192.0.2.1%1');
    });
  });

  describe('prefix width', () => {
    it('exposes the widest lengths a mail server may hold', () => {
      expect(MIN_PREFIX_LENGTH).toEqual({ ipv4: 16, ipv6: 32 });
    });

    it('accepts exactly the widest IPv4 prefix', () => {
      expect(normalizePrefix(`198.51.0.0/${MIN_PREFIX_LENGTH.ipv4}`).cidr).toBe('198.51.0.0/16');
    });

    it('refuses an IPv4 prefix one bit wider', () => {
      expect(prefixRefusal(`198.50.0.0/${MIN_PREFIX_LENGTH.ipv4 - 1}`).message).toMatch(/wider than \/16/);
      expect(prefixRefusal('0.0.0.0/0').message).toMatch(/wider/);
    });

    it('accepts exactly the widest IPv6 prefix', () => {
      expect(normalizePrefix(`2001:db8::/${MIN_PREFIX_LENGTH.ipv6}`).cidr).toBe('2001:db8::/32');
    });

    it('refuses an IPv6 prefix one bit wider', () => {
      expect(prefixRefusal(`2001:db8::/${MIN_PREFIX_LENGTH.ipv6 - 1}`).message).toMatch(/wider than \/32/);
      expect(prefixRefusal('::/0').message).toMatch(/wider/);
    });

    it('refuses a mapped prefix wider than the IPv4 limit', () => {
      expect(prefixRefusal('::ffff:198.50.0.0/111').message).toMatch(/wider than \/16/);
    });
  });

  describe('prefix length syntax', () => {
    it.each(['192.0.2.10/', '192.0.2.10/33', '192.0.2.10/-1', '192.0.2.10/+32', '192.0.2.10/ 32', '192.0.2.10/32 ',
      '192.0.2.10/3a', '192.0.2.10/1000', '192.0.2.10/32/32', '192.0.2.10/0x20', '2001:db8::/129', '2001:db8::/'])(
      'refuses %j',
      (input) => {
        prefixRefusal(input);
      },
    );

    it('names the allowed range for an out-of-range length', () => {
      expect(prefixRefusal('192.0.2.10/33').message).toMatch(/between 0 and 32/);
      expect(prefixRefusal('2001:db8::/129').message).toMatch(/between 0 and 128/);
    });
  });

  describe('other refusals', () => {
    it.each([
      ['empty', ''],
      ['a host name', 'mail.example.com'],
      ['an address literal', '[192.0.2.1]'],
      ['a leading space', ' 192.0.2.1'],
      ['a trailing space', '192.0.2.1 '],
      ['more than 64 characters', `${'0'.repeat(60)}:192.0.2.1`],
    ])('refuses %s', (_what, input) => {
      prefixRefusal(input);
    });

    it('refuses values that are not strings', () => {
      refusal(() => normalizePrefix(undefined as unknown as string));
      refusal(() => normalizePrefix(3221225985 as unknown as string));
    });

    it('has a recognizable error name', () => {
      expect(prefixRefusal('').name).toBe('InvalidAddressError');
    });

    it.each(['secret.example', '198.51.100.77/8', '198.51.100.77/24', '2001:db8:dead:beef::1/64', '0x7f.0.0.1',
      'fe80::dead%eth0', '198.51.100.77/999'])('never repeats the submitted value %j in the message', (input) => {
      const { message } = prefixRefusal(input);
      expect(message).not.toContain(input);
      expect(message).not.toContain(input.split('/')[0]);
    });
  });
});

describe('normalizeAddress', () => {
  it.each([
    ['192.0.2.10', '192.0.2.10'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['::1', '::1'],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeAddress(input)).toBe(expected);
  });

  it.each([
    '192.0.2.10/32',
    '2001:db8::/64',
    '',
    '127.1',
    '0x7f.0.0.1',
    'fe80::1%eth0',
    'mail.example.com',
    '1'.repeat(65),
  ])('refuses %j', (input) => {
    addressRefusal(input);
  });
});

describe('canonicalFromInet', () => {
  it('adds /32 to a bare IPv4 host address', () => {
    expect(canonicalFromInet('192.0.2.10')).toBe('192.0.2.10/32');
  });

  it('adds /128 to a bare IPv6 host address', () => {
    expect(canonicalFromInet('2001:db8::1')).toBe('2001:db8::1/128');
  });

  it('keeps a value that already has a length', () => {
    expect(canonicalFromInet('192.0.2.0/24')).toBe('192.0.2.0/24');
    expect(canonicalFromInet('2001:db8::/64')).toBe('2001:db8::/64');
  });

  it('agrees with normalizePrefix for host addresses', () => {
    for (const address of ['198.51.100.7', '2001:db8::abcd']) {
      expect(canonicalFromInet(address)).toBe(normalizePrefix(address).cidr);
    }
  });
});

describe('hostAndPort', () => {
  it('brackets an IPv6 address and leaves names and IPv4 addresses as they are', () => {
    expect(hostAndPort('::1', 10040)).toBe('[::1]:10040');
    expect(hostAndPort('2001:db8::1', '25')).toBe('[2001:db8::1]:25');
    expect(hostAndPort('127.0.0.1', 10040)).toBe('127.0.0.1:10040');
    expect(hostAndPort('mail.example.net', 8080)).toBe('mail.example.net:8080');
  });
});
