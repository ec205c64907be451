import { describe, expect, it } from 'vitest';
import { NotFoundError } from './errors.js';
import { OrganizationScope } from './organization-scope.js';

const ours = '6f1c2a52-0000-4000-8000-000000000001';
const theirs = '6f1c2a52-0000-4000-8000-000000000002';

describe('OrganizationScope', () => {
  it('leaves staff unrestricted', () => {
    for (const role of ['admin', 'csr', 'auditor', 'filter', 'system'] as const) {
      const scope = OrganizationScope.of({ role });
      expect(scope.bound).toBe(false);
      expect(scope.admits(theirs)).toBe(true);
      expect(scope.listFilter(undefined)).toBeUndefined();
      expect(scope.listFilter(theirs)).toBe(theirs);
    }
  });

  it('binds a customer to its organization: others are not found, lists are cut to its own', () => {
    const scope = OrganizationScope.of({ role: 'customer', organizationId: ours });
    expect(scope.bound).toBe(true);
    expect(scope.admits(ours)).toBe(true);
    expect(scope.admits(theirs)).toBe(false);
    expect(scope.admits(null)).toBe(false);
    expect(() => scope.require(theirs, 'exception')).toThrow(new NotFoundError('exception'));
    expect(scope.listFilter(undefined)).toBe(ours);
    expect(scope.listFilter(ours)).toBe(ours);
    expect(() => scope.listFilter(theirs)).toThrow(NotFoundError);
  });

  it('refuses a customer without an organization rather than letting it see everything', () => {
    expect(() => OrganizationScope.of({ role: 'customer', organizationId: null })).toThrow(/bound/);
  });
});
