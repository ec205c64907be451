import { describe, expect, it } from 'vitest';
import { describeChanges } from './audit-changes.js';

describe('describeChanges', () => {
  it('lists each changed field with a readable line, in name order, leaving bookkeeping out', () => {
    expect(
      describeChanges(
        { name: 'Acme', status: 'active', notes: null, updatedAt: '2026-01-01', addresses: ['192.0.2.1/32'] },
        { name: 'Acme', status: 'suspended', notes: 'unpaid', updatedAt: '2026-02-01', addresses: ['192.0.2.1/32'] },
      ),
    ).toEqual([
      { field: 'notes', before: null, after: 'unpaid', text: 'notes: set to "unpaid"' },
      { field: 'status', before: 'active', after: 'suspended', text: 'status: "active" → "suspended"' },
    ]);
  });

  it('a creation sets every field, a deletion removes every field; key order inside values does not count', () => {
    expect(describeChanges(null, { b: 1, a: [1] }).map((c) => c.text)).toEqual(['a: set to [1]', 'b: set to 1']);
    expect(describeChanges({ a: 'x' }, null).map((c) => c.text)).toEqual(['a: removed (was "x")']);
    expect(describeChanges({ e: { x: 1, y: 2 } }, { e: { y: 2, x: 1 } })).toEqual([]);
  });

  it('cuts long values short', () => {
    const [change] = describeChanges({ reason: 'a' }, { reason: 'b'.repeat(200) });
    expect(change!.text.length).toBeLessThan(100);
    expect(change!.after).toBe('b'.repeat(200));
  });
});
