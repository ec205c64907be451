import { describe, expect, it } from 'vitest';
import { InvalidHostnameError, normalizeHeloHostname } from './hostname.js';

/** Calls normalizeHeloHostname and returns the error it throws (fails the test when it does not throw). */
function refusal(input: string): InvalidHostnameError {
  try {
    const accepted = normalizeHeloHostname(input);
    throw new Error(`expected ${JSON.stringify(input)} to be refused, got ${JSON.stringify(accepted)}`);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidHostnameError);
    return error as InvalidHostnameError;
  }
}

describe('normalizeHeloHostname', () => {
  describe('normalization', () => {
    it.each([
      ['MAIL.Example.COM', 'mail.example.com'],
      ['mail.example.com.', 'mail.example.com'],
      ['Exch01.Corp.Local.', 'exch01.corp.local'],
      ['mail.example.com', 'mail.example.com'],
    ])('%j -> %j', (input, expected) => {
      expect(normalizeHeloHostname(input)).toBe(expected);
    });

    it('removes only one trailing dot', () => {
      expect(refusal('mail.example.com..').message).toMatch(/empty label/);
    });

    it('converts an IDN to A-labels', () => {
      expect(normalizeHeloHostname('mail.bücher.example')).toBe('mail.xn--bcher-kva.example');
    });

    it('converts an upper-case IDN with a trailing dot to the same A-labels', () => {
      expect(normalizeHeloHostname('MAIL.BÜCHER.EXAMPLE.')).toBe('mail.xn--bcher-kva.example');
    });

    it('keeps names already in A-label form unchanged', () => {
      expect(normalizeHeloHostname('mail.xn--bcher-kva.example')).toBe('mail.xn--bcher-kva.example');
    });

    it('maps full-width letters and the ideographic full stop (UTS #46)', () => {
      expect(normalizeHeloHostname('ｅｘｃｈ01．corp')).toBe('exch01.corp');
      expect(normalizeHeloHostname('mail。bücher。example')).toBe('mail.xn--bcher-kva.example');
    });

    it('accepts underscores in an IDN', () => {
      expect(normalizeHeloHostname('exch_01.bücher.example')).toBe('exch_01.xn--bcher-kva.example');
    });

    it('is idempotent', () => {
      for (const input of ['MAIL.BÜCHER.EXAMPLE.', 'Exch_01.Corp.Local', 'EXCH01']) {
        const once = normalizeHeloHostname(input);
        expect(normalizeHeloHostname(once)).toBe(once);
      }
    });
  });

  describe('names misconfigured servers really announce', () => {
    it('accepts a single label', () => {
      expect(normalizeHeloHostname('exch01')).toBe('exch01');
      expect(normalizeHeloHostname('EXCH01.')).toBe('exch01');
    });

    it('accepts underscores', () => {
      expect(normalizeHeloHostname('exch_01.corp.local')).toBe('exch_01.corp.local');
      expect(normalizeHeloHostname('_exch')).toBe('_exch');
    });

    it('accepts hyphens and digits', () => {
      expect(normalizeHeloHostname('mx-01.mail-2.example')).toBe('mx-01.mail-2.example');
    });

    it('accepts non-public names such as .local', () => {
      expect(normalizeHeloHostname('exch01.corp.local')).toBe('exch01.corp.local');
    });
  });

  describe('lengths', () => {
    const label63 = 'a'.repeat(63);

    it('accepts a label of 63 characters', () => {
      expect(normalizeHeloHostname(`${label63}.example`)).toBe(`${label63}.example`);
    });

    it('refuses a label of 64 characters', () => {
      expect(refusal(`${'a'.repeat(64)}.example`).message).toMatch(/63/);
    });

    // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253
    const name253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`;

    it('accepts a name of exactly 253 characters', () => {
      expect(name253).toHaveLength(253);
      expect(normalizeHeloHostname(name253)).toBe(name253);
    });

    it('accepts a name of 253 characters plus the trailing dot', () => {
      expect(normalizeHeloHostname(`${name253}.`)).toBe(name253);
    });

    it('refuses a name of 254 characters', () => {
      const name254 = `${name253}b`;
      expect(name254).toHaveLength(254);
      expect(refusal(name254).message).toMatch(/253/);
    });

    it('refuses a very long name', () => {
      expect(refusal(`${'a.'.repeat(500)}example`).message).toMatch(/253/);
    });

    it('measures the length after IDN conversion', () => {
      // Six labels of 40 "ü": 245 characters as typed, each A-label under 63
      // characters, but more than 253 characters once converted.
      const label = 'ü'.repeat(40);
      const input = Array.from({ length: 6 }, () => label).join('.');
      expect(input.length).toBeLessThanOrEqual(253);
      expect(refusal(input).message).toMatch(/253/);
      // …whereas one such label alone is fine.
      expect(normalizeHeloHostname(label)).toMatch(/^xn--[a-z0-9-]{1,59}$/);
    });
  });

  describe('refusals', () => {
    it.each([
      ['empty', ''],
      ['a lone dot', '.'],
      ['an empty label in the middle', 'mail..example.com'],
      ['a leading dot', '.mail.example.com'],
      ['a space', 'mail example.com'],
      ['a leading space', ' mail.example.com'],
      ['a trailing space', 'mail.example.com '],
      ['a tab', 'mail\texample.com'],
      ['a newline', 'mail.example.com\n'],
      ['a non-breaking space', 'mail\u00a0example.com'],
      ['an IPv4 address literal', '[192.0.2.1]'],
      ['an IPv6 address literal', '[IPv6:2001:db8::1]'],
      ['a bare IPv4 address', '192.0.2.1'],
      ['a bare IPv4 address with a trailing dot', '192.0.2.1.'],
      ['a bare IPv6 address', '2001:db8::1'],
      ['the IPv6 loopback', '::1'],
      ['an IPv4 address in full-width digits', '１９２.０.２.１'],
      ['an IPv4 address in full-width digits and dots', '１９２．０．２．１'],
      ['an exclamation mark', 'mail!.example.com'],
      ['an at sign', 'postmaster@example.com'],
      ['a colon', 'mail.example.com:25'],
      ['a slash', 'mail/example.com'],
      ['a percent sign', 'mail%41.example.com'],
      ['a plus sign', 'mail+1.example.com'],
      ['an asterisk', '*.example.com'],
      ['a NUL character', 'mail\u0000.example.com'],
      ['a control character', 'mail\u0007.example.com'],
      ['an IDN with a slash (would be cut off as a URL path)', 'mail.bücher.example/evil'],
      ['an IDN with a question mark', 'mail.bücher.example?x'],
      ['an IDN with a hash', 'mail.bücher.example#x'],
      ['an IDN with a percent escape (would be decoded)', 'bücher%2eexample'],
      ['an IDN with a backslash', 'bücher\\example'],
      ['an IDN with an at sign', 'user@bücher.example'],
      ['an IDN with a colon', 'bücher.example:25'],
      ['an IDN with an empty label', 'mail..bücher.example'],
      ['an IDN with a full-width solidus', 'bücher／example'],
    ])('refuses %s', (_what, input) => {
      expect(refusal(input)).toBeInstanceOf(InvalidHostnameError);
    });

    it('says why an address literal is refused', () => {
      expect(refusal('[192.0.2.1]').message).toMatch(/address literal/);
    });

    it('says why a bare IP is refused', () => {
      expect(refusal('192.0.2.1').message).toMatch(/IP address/);
    });

    it('says why a space is refused', () => {
      expect(refusal('a b').message).toMatch(/space/);
    });

    it('refuses values that are not strings', () => {
      expect(refusal(undefined as unknown as string)).toBeInstanceOf(InvalidHostnameError);
      expect(refusal(42 as unknown as string)).toBeInstanceOf(InvalidHostnameError);
    });

    it('has a recognizable error name', () => {
      expect(refusal('').name).toBe('InvalidHostnameError');
    });
  });

  describe('error messages never contain the submitted value', () => {
    it.each([
      'secret-token-mail..example',
      'secret-token-[192.0.2.1]',
      '[secret-token]',
      'secret token',
      'secret!token',
      'secret/bücher',
      `secret-${'x'.repeat(64)}`,
      `secret.${'x.'.repeat(200)}`,
      '198.51.100.77',
      'secret-ü\u0000',
    ])('%j', (input) => {
      const error = refusal(input);
      expect(error.message).not.toContain(input);
      expect(error.message).not.toContain('secret');
      expect(error.message).not.toContain('198.51.100.77');
      expect(error.message.length).toBeGreaterThan(0);
    });
  });
});
