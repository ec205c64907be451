import { describe, expect, it } from 'vitest';
import type { Exception } from '../types.js';
import { queueFor, waitingRequest } from './approvals.js';

const exception = (over: Partial<Exception>): Exception =>
  ({
    id: 'e1',
    status: 'pending_approval',
    requestedByOwner: 'ann@example.test',
    approvalReasons: ['spf_only'],
    renewal: null,
    ...over,
  }) as Exception;

describe('the approvals queue', () => {
  it('reads a pending grant as the grant, with its requester and reasons', () => {
    expect(waitingRequest(exception({}))).toEqual({ kind: 'grant', requestedByOwner: 'ann@example.test', approvalReasons: ['spf_only'] });
  });

  it('reads a running exception with a renewal as the renewal, asked by whoever asked for it', () => {
    const renewing = exception({
      id: 'e2',
      status: 'active',
      approvalReasons: [],
      renewal: { expiresAt: '2027-06-01T00:00:00Z', requestedBy: 'k2', requestedByOwner: 'bob@example.test', approvalReasons: ['long_duration'] },
    });
    expect(waitingRequest(renewing)).toEqual({ kind: 'renewal', requestedByOwner: 'bob@example.test', approvalReasons: ['long_duration'] });
  });

  it('leaves out what the signed-in person asked for, grant or renewal', () => {
    const mine = exception({ id: 'mine', requestedByOwner: 'me@example.test' });
    const othersGrant = exception({ id: 'other' });
    const myRenewalOfTheirGrant = exception({
      id: 'renewal',
      status: 'suspended',
      renewal: { expiresAt: '2027-06-01T00:00:00Z', requestedBy: 'k', requestedByOwner: 'me@example.test', approvalReasons: ['long_duration'] },
    });
    const theirRenewalOfMyGrant = exception({
      id: 'theirs',
      status: 'active',
      requestedByOwner: 'me@example.test',
      renewal: { expiresAt: '2027-06-01T00:00:00Z', requestedBy: 'k', requestedByOwner: 'ann@example.test', approvalReasons: ['long_duration'] },
    });
    expect(queueFor([mine, othersGrant, myRenewalOfTheirGrant, theirRenewalOfMyGrant], 'me@example.test').map((item) => item.id)).toEqual(['other', 'theirs']);
  });
});
