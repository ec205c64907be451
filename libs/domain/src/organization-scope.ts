import { NotFoundError } from './errors.js';
import type { Actor } from './roles.js';

/**
 * What one caller may see: everything (the provider's staff and the system),
 * or one organization (a `customer` key). The one rule for a bound caller:
 * another organization's resources do not exist — "not found" (404), never
 * "forbidden", so an id reveals nothing — and every list is cut to its own.
 */
export class OrganizationScope {
  private constructor(readonly organizationId: string | null) {}

  static readonly unrestricted = new OrganizationScope(null);

  /** The scope of an actor: a customer key's organization, or unrestricted. */
  static of(actor: Pick<Actor, 'role' | 'organizationId'>): OrganizationScope {
    if (actor.role !== 'customer') {
      return OrganizationScope.unrestricted;
    }
    if (!actor.organizationId) {
      // A customer key without its organization would see everything: refuse to build such a scope.
      throw new Error('a customer key must be bound to an organization');
    }
    return new OrganizationScope(actor.organizationId);
  }

  get bound(): boolean {
    return this.organizationId !== null;
  }

  /** Whether a resource of `organizationId` (null: of no organization, or none found) is visible. */
  admits(organizationId: string | null | undefined): boolean {
    return this.organizationId === null || (organizationId !== null && organizationId !== undefined && organizationId === this.organizationId);
  }

  /** Throws "not found" (named as the resource) unless the resource's organization is visible. */
  require(organizationId: string | null | undefined, resource: string): void {
    if (!this.admits(organizationId)) {
      throw new NotFoundError(resource);
    }
  }

  /**
   * The organization filter of a list: what was asked for when unrestricted;
   * the caller's own organization when bound (asking for another one is
   * "organization not found").
   */
  listFilter(requested: string | undefined): string | undefined {
    if (this.organizationId === null) {
      return requested;
    }
    if (requested !== undefined && requested !== this.organizationId) {
      throw new NotFoundError('organization');
    }
    return this.organizationId;
  }
}
