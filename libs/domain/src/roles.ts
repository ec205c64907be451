export const ROLES = ['admin', 'csr', 'auditor', 'filter', 'customer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who made a change: an API key, or the system itself (`system:bootstrap`, `system:worker`, `system:cli`). */
export interface Actor {
  readonly id: string | null;
  readonly name: string;
  readonly role: Role | 'system';
  /**
   * The person behind the key (normalized, see normalizeOwner): what four
   * eyes compares. Null for the system, and for a `filter` key naming none.
   */
  readonly owner: string | null;
  /** The one organization a `customer` key is bound to; absent or null for every other actor. */
  readonly organizationId?: string | null;
}
