import { describe, expect, it } from 'vitest';
import { diffEntries } from './entry-changes.js';
import type { AllowlistEntry } from './render.js';

const entry = (id: string, overrides: Partial<AllowlistEntry> = {}): AllowlistEntry => ({
  exceptionId: id,
  organizationId: 'org',
  scope: 'pair',
  heloHostname: `${id}.example.com`,
  addresses: ['192.0.2.10/32'],
  startsAt: new Date('2026-12-01T00:00:00Z'),
  expiresAt: new Date('2027-01-01T00:00:00Z'),
  ...overrides,
});

describe('diffEntries', () => {
  it('names what was added and what was removed, by exception id', () => {
    const a = entry('a');
    const b = entry('b');
    const c = entry('c');
    expect(diffEntries([a, b], [b, c])).toEqual({ added: [c], removed: [a] });
  });

  it('reports an entry whose fields changed as the old one removed and the new one added', () => {
    const before = entry('a');
    const renewed = entry('a', { expiresAt: new Date('2027-02-01T00:00:00Z') });
    const moved = entry('b', { addresses: ['192.0.2.11/32'] });
    expect(diffEntries([before, entry('b')], [renewed, moved])).toEqual({
      added: [renewed, moved],
      removed: [before, entry('b')],
    });
  });

  it('reports nothing when equal sets were loaded again', () => {
    expect(diffEntries([entry('a'), entry('b')], [entry('b'), entry('a')])).toEqual({ added: [], removed: [] });
  });
});
