import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrganizationScope, type Actor, type Role } from '@app/domain';

/** What the auth guard learned about the caller, attached to the request. */
export interface AuthenticatedCaller {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** The person behind the key (what four eyes compares). */
  readonly owner: string | null;
  /** The one organization a `customer` key may see; null for every other role. */
  readonly organizationId: string | null;
}

export type HeloPassRequest = FastifyRequest & { caller?: AuthenticatedCaller };

/** Who is asking and under which request id: what services need to audit a change. */
export interface RequestContext {
  readonly actor: Actor;
  readonly requestId: string;
  /** What the caller may see: everything, or (a customer key) its own organization only. */
  readonly scope: OrganizationScope;
}

export const Context = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestContext => {
  const request = ctx.switchToHttp().getRequest<HeloPassRequest>();
  if (!request.caller) {
    // The guard runs before every handler that asks for a context.
    throw new Error('request reached a handler without an authenticated caller');
  }
  return { actor: request.caller, requestId: request.id, scope: OrganizationScope.of(request.caller) };
});
