import { describe, expect, it } from 'vitest';
import { InvalidOwnerError, isPersonRole, normalizeOwner } from './owner.js';

describe('API key owners', () => {
  it('makes one person of every spelling: trimmed and lowercased', () => {
    expect(normalizeOwner('  Alice@Example.COM ')).toBe('alice@example.com');
    expect(normalizeOwner('alice@example.com')).toBe('alice@example.com');
    expect(normalizeOwner('JDoe')).toBe('jdoe');
    expect(normalizeOwner('ops.team+pager')).toBe('ops.team+pager');
    expect(normalizeOwner('mx1.example.net')).toBe('mx1.example.net');
    expect(normalizeOwner('bootstrap-admin')).toBe('bootstrap-admin');
  });

  it('refuses empty, overlong and odd owners', () => {
    for (const bad of ['', '   ', 'a b', 'alice@@example.com', 'a@b@c', '@example.com', 'alice@', 'alice.', '-alice', 'système', "o'neil", 'x'.repeat(255), 'a;drop']) {
      expect(() => normalizeOwner(bad), bad).toThrow(InvalidOwnerError);
    }
    expect(normalizeOwner('x'.repeat(254))).toHaveLength(254);
  });

  it('names the roles held by a person', () => {
    expect(['admin', 'csr', 'auditor', 'filter'].filter(isPersonRole)).toEqual(['admin', 'csr', 'auditor']);
  });
});
