import { describe, expect, it } from 'vitest';
import { changesOf, describeAction } from './timeline.js';

describe('changesOf', () => {
  it('lists only what an update changed, without bookkeeping fields', () => {
    expect(
      changesOf({
        before: { status: 'pending_approval', approvedBy: null, reason: 'fix pending', updatedAt: '2026-12-09T09:00:00Z' },
        after: { status: 'active', approvedBy: 'k-2', reason: 'fix pending', updatedAt: '2026-12-09T10:00:00Z' },
      }),
    ).toEqual([
      { field: 'status', before: 'pending_approval', after: 'active' },
      { field: 'approvedBy', before: '—', after: 'k-2' },
    ]);
  });

  it('shows what a creation set, lists as text', () => {
    expect(changesOf({ before: null, after: { heloHostname: 'exch01.corp.local', addresses: ['192.0.2.10/32', '192.0.2.11/32'] } })).toEqual([
      { field: 'heloHostname', before: '—', after: 'exch01.corp.local' },
      { field: 'addresses', before: '—', after: '192.0.2.10/32, 192.0.2.11/32' },
    ]);
  });

  it('names actions in words', () => {
    expect(describeAction('exception.renewal_approved')).toBe('Exception renewal approved');
  });
});
