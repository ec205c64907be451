import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { normalizeAddress, normalizeHeloHostname, NotFoundError, OrganizationScope } from '@app/domain';
import { CUSTOMER_SCOPE_KEY, type CustomerScopeRule } from './customer-scope.decorator.js';
import { CustomerScopeRepository } from './customer-scope.repository.js';
import type { HeloPassRequest } from './request-context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The one place that keeps a `customer` key inside its organization (runs
 * after AuthGuard). Every route open to customers declares its rule with
 * `@CustomerScope…`; a route without one refuses them. Another
 * organization's resource answers 404 exactly as a missing one does, so an
 * id tells a customer nothing. Lists are cut by the services through the
 * request's OrganizationScope (`context.scope`).
 */
@Injectable()
export class CustomerScopeGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly owners: CustomerScopeRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<HeloPassRequest>();
    const caller = request.caller;
    if (caller?.role !== 'customer') {
      return true;
    }
    const scope = OrganizationScope.of(caller);
    const rule = this.reflector.getAllAndOverride<CustomerScopeRule | undefined>(CUSTOMER_SCOPE_KEY, [context.getHandler(), context.getClass()]);
    if (rule === undefined) {
      throw new ForbiddenException('this route is not open to customer keys');
    }
    if (rule.kind === 'owned') {
      const source = (rule.from === 'param' ? request.params : request.body) as Record<string, unknown> | undefined;
      const id = source?.[rule.field];
      if (typeof id !== 'string' || !UUID.test(id)) {
        // Not an id at all: validation answers it (404 for a path, 400 for a body), without looking anything up.
        return true;
      }
      scope.require(await this.owners.organizationOf(rule.resource, id), rule.resource);
    } else if (rule.kind === 'diagnostics') {
      await this.requireOwnServer(scope, request.query as Record<string, unknown>);
    }
    return true;
  }

  /** Diagnostics for a customer: only a HELO name (and address) of one of its own mail servers. */
  private async requireOwnServer(scope: OrganizationScope, query: Record<string, unknown>): Promise<void> {
    const helo = query.helo;
    const ip = query.ip;
    if (typeof helo !== 'string' || (ip !== undefined && typeof ip !== 'string')) {
      return; // validation answers it
    }
    let heloHostname: string;
    let address: string | null;
    try {
      heloHostname = normalizeHeloHostname(helo.trim());
      address = ip === undefined ? null : normalizeAddress(ip);
    } catch {
      throw new NotFoundError('mail server');
    }
    if (!(await this.owners.hasServer(scope.organizationId!, heloHostname, address))) {
      throw new NotFoundError('mail server');
    }
  }
}
