import {
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeysService } from '@app/access';
import type { Role } from '@app/domain';
import type { HeloPassRequest } from './request-context.js';
import { BASIC_AUTH_KEY, PUBLIC_KEY, ROLES_KEY } from './roles.decorator.js';

/** The key a request presents: `Bearer <key>`, or (where allowed) Basic with the key as password. */
function presentedKey(header: string | undefined, basicAllowed: boolean): string | undefined {
  if (header === undefined) {
    return undefined;
  }
  const space = header.indexOf(' ');
  if (space === -1) {
    return undefined;
  }
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') {
    return value;
  }
  if (scheme === 'basic' && basicAllowed) {
    // rspamd sends the credentials of the map URL as Basic: any user name, the key as password.
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/**
 * Authenticates every request and checks its role. Deny by default: a route
 * without `@Roles()` or `@Public()` answers 403 to everyone.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) {
      return true;
    }
    const request = context.switchToHttp().getRequest<HeloPassRequest>();
    const basicAllowed = this.reflector.getAllAndOverride<boolean>(BASIC_AUTH_KEY, targets) ?? false;
    const secret = presentedKey(request.headers.authorization, basicAllowed);
    if (secret === undefined) {
      throw new UnauthorizedException('an API key is required: send Authorization: Bearer <key>');
    }
    const key = await this.apiKeys.authenticate(secret);
    if (!key) {
      throw new UnauthorizedException('the API key is unknown, revoked or expired');
    }
    request.caller = key;
    const allowed = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets) ?? [];
    if (!allowed.includes(key.role)) {
      throw new ForbiddenException(
        allowed.length === 0 ? 'this route is not open to any role' : `this route needs one of the roles: ${allowed.join(', ')}`,
      );
    }
    return true;
  }
}
