import { describe, expect, it } from 'vitest';
import { describeReason, grantBody, previewBody, verdictOf, type GrantDraft, type GrantPreview } from './grant-preview.js';

const draft: GrantDraft = {
  mailServerId: '6f1c2a7e-1b7d-4c3a-9e0b-2d4f5a6b7c8d',
  scope: 'pair',
  reason: '  the fix ships next month ',
  ticketRef: '',
  expiresOn: '',
  justification: '   ',
};

const preview = (over: Partial<GrantPreview>): GrantPreview => ({
  outcome: 'active',
  problem: null,
  scope: 'pair',
  startsAt: null,
  expiresAt: null,
  approvalReasons: [],
  adminApproval: false,
  justificationNeeded: false,
  missingProof: [],
  blocklistListings: null,
  evidence: null,
  ...over,
});

describe('the grant form', () => {
  it('sends what was typed, trimmed, leaving empty optional fields out', () => {
    expect(grantBody(draft)).toEqual({ mailServerId: draft.mailServerId, scope: 'pair', reason: 'the fix ships next month' });
    expect(grantBody({ ...draft, ticketRef: ' TCK-1 ', expiresOn: '2027-01-31', justification: ' seen the invoice ' })).toEqual({
      mailServerId: draft.mailServerId,
      scope: 'pair',
      reason: 'the fix ships next month',
      ticketRef: 'TCK-1',
      expiresAt: '2027-01-31T23:59:59.000Z',
      justification: 'seen the invoice',
    });
  });

  it('asks the preview without the reason and ticket, which do not change its answer', () => {
    expect(previewBody({ ...draft, ticketRef: 'TCK-1', scope: 'helo', expiresOn: '2027-01-31' })).toEqual({
      mailServerId: draft.mailServerId,
      scope: 'helo',
      expiresAt: '2027-01-31T23:59:59.000Z',
    });
  });

  it('says the API\'s verdict in words, keeping its reason codes', () => {
    expect(verdictOf(preview({}))).toContain('active at once');
    expect(verdictOf(preview({ outcome: 'pending_approval', approvalReasons: ['helo_scope'], adminApproval: true }))).toContain('an admin');
    expect(verdictOf(preview({ outcome: 'pending_approval', approvalReasons: ['spf_only'] }))).toContain('a second person');
    expect(verdictOf(preview({ outcome: 'refused', problem: { title: 'Rule violated', status: 422, detail: 'the organization is suspended' } }))).toBe(
      'The API would refuse this grant: the organization is suspended',
    );
    expect(describeReason('wide_prefix')).toMatch(/prefix .* \(wide_prefix\)$/);
    expect(describeReason('something_new')).toBe('something_new');
  });
});
