import { SetMetadata } from '@nestjs/common';

export const CUSTOMER_SCOPE_KEY = 'helopass:customer-scope';

/** The resources a customer key may reach, each named as its "not found" names it. */
export type OwnedResource = 'organization' | 'mail server' | 'domain' | 'exception';

/**
 * How a route open to `customer` keys is kept to the caller's organization,
 * checked by CustomerScopeGuard before the handler runs:
 * - `owned`: the route acts on one resource, named by a path parameter or a
 *   body field; another organization's is "not found" (404);
 * - `listed`: a list, which the service cuts to the caller's organization
 *   through the request's OrganizationScope;
 * - `diagnostics`: the HELO name (and address) asked about must be one of
 *   the caller's own mail servers.
 */
export type CustomerScopeRule =
  | { kind: 'owned'; resource: OwnedResource; from: 'param' | 'body'; field: string }
  | { kind: 'listed' }
  | { kind: 'diagnostics' };

/**
 * Declares how a route is scoped for customer keys. A route whose `@Roles()`
 * admits `customer` without one of these answers 403 to customers: nothing is
 * open to them by accident.
 */
export const CustomerScope = {
  /** The resource named by the path's `:id` (or another parameter). */
  param: (resource: OwnedResource, field = 'id') => SetMetadata(CUSTOMER_SCOPE_KEY, { kind: 'owned', resource, from: 'param', field } satisfies CustomerScopeRule),
  /** The resource named by a field of the JSON body. */
  body: (resource: OwnedResource, field: string) => SetMetadata(CUSTOMER_SCOPE_KEY, { kind: 'owned', resource, from: 'body', field } satisfies CustomerScopeRule),
  listed: () => SetMetadata(CUSTOMER_SCOPE_KEY, { kind: 'listed' } satisfies CustomerScopeRule),
  diagnostics: () => SetMetadata(CUSTOMER_SCOPE_KEY, { kind: 'diagnostics' } satisfies CustomerScopeRule),
};
