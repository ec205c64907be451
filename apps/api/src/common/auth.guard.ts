import {
  ForbiddenException,
  Injectable,
  Logger,
  Optional,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { ApiKeysService, type AuthenticatedKey, type AuthenticationFailure } from '@app/access';
import { apiKeyPrefix, isWellFormedApiKey, type Role } from '@app/domain';
import { HeloPassMetrics } from '@app/metrics';
import { ConsoleSessionsService } from '../console/console-sessions.service.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../console/session-token.js';
import { RateLimits } from './rate-limits.js';
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
 * Who a request is: its key checked against the key cache, counted against
 * its rate limits, its role against the route's. Shared by the guard (every
 * Nest route) and the feed's fast path (which answers before Nest's pipeline).
 */
@Injectable()
export class CallerAuthentication {
  private readonly logger = new Logger('Authentication');

  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly rateLimits: RateLimits,
    private readonly consoleSessions: ConsoleSessionsService,
    @Optional() private readonly metrics?: HeloPassMetrics,
  ) {}

  /** Sets `request.caller`, or throws the 401/403/429 to answer. */
  async authenticate(request: HeloPassRequest, reply: FastifyReply, allowed: readonly Role[], basicAllowed: boolean): Promise<void> {
    const header = request.headers.authorization;
    // The console's requests carry a session cookie instead of a key (a key, when sent, wins).
    const sessionToken = header === undefined ? request.cookies?.[SESSION_COOKIE] : undefined;
    if (sessionToken !== undefined) {
      return this.admit(request, reply, await this.sessionKey(request, sessionToken), allowed);
    }
    if (header === undefined) {
      // Requests without a key are counted per client address by the rate-limit plugin.
      this.logFailure(request, 'missing', undefined);
      throw new UnauthorizedException('an API key is required: send Authorization: Bearer <key>');
    }
    await this.rateLimits.refuseWhileBlocked(request);
    const secret = presentedKey(header, basicAllowed);
    const result = secret === undefined ? ({ failure: 'malformed' } as const) : await this.apiKeys.authenticate(secret);
    if ('failure' in result) {
      await this.rateLimits.countFailure(request);
      this.logFailure(request, result.failure, secret);
      throw new UnauthorizedException(
        secret === undefined
          ? 'an API key is required: send Authorization: Bearer <key>'
          : 'the API key is unknown, revoked or expired',
      );
    }
    return this.admit(request, reply, result.key, allowed);
  }

  /**
   * The key behind a console session: the key it was opened with decides the
   * role, and anything that changes state needs the session's CSRF token.
   */
  private async sessionKey(request: HeloPassRequest, token: string): Promise<AuthenticatedKey> {
    await this.rateLimits.refuseWhileBlocked(request);
    const csrf = request.headers[CSRF_HEADER];
    const result = await this.consoleSessions.authenticate(token, request.method, typeof csrf === 'string' ? csrf : undefined);
    if ('failure' in result) {
      if (result.failure === 'csrf') {
        throw new ForbiddenException('the console session\'s CSRF token is missing or wrong (X-CSRF-Token)');
      }
      if (result.failure === 'unknown') {
        await this.rateLimits.countFailure(request);
      }
      this.logFailure(request, result.failure === 'unknown' ? 'unknown' : 'expired', undefined);
      throw new UnauthorizedException('the console session has ended (signed out, idle or expired): sign in again');
    }
    (request as HeloPassRequest & { consoleSessionId?: string }).consoleSessionId = result.sessionId;
    return result.key;
  }

  private async admit(request: HeloPassRequest, reply: FastifyReply, key: AuthenticatedKey, allowed: readonly Role[]): Promise<void> {
    request.caller = key;
    await this.rateLimits.countRequest(request, reply);
    if (!allowed.includes(key.role)) {
      throw new ForbiddenException(
        allowed.length === 0 ? 'this route is not open to any role' : `this route needs one of the roles: ${allowed.join(', ')}`,
      );
    }
  }

  /**
   * One warning per refused request: the key's prefix (the non-secret part
   * shown in key listings, and only for a well-formed key), the client
   * address and the route — never the secret or the Authorization header.
   */
  private logFailure(request: HeloPassRequest, reason: AuthenticationFailure | 'missing', secret: string | undefined): void {
    this.metrics?.authFailures.inc({ reason });
    const keyPrefix = secret !== undefined && isWellFormedApiKey(secret) ? apiKeyPrefix(secret) : undefined;
    this.logger.warn(
      {
        reason,
        keyPrefix,
        address: request.ip,
        route: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
        requestId: request.id,
      },
      'authentication failed',
    );
  }
}

/**
 * Authenticates every request, counts it against its rate limits and checks
 * its role. Deny by default: a route without `@Roles()` or `@Public()`
 * answers 403 to everyone.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: CallerAuthentication,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) {
      return true;
    }
    const request = context.switchToHttp().getRequest<HeloPassRequest>();
    const basicAllowed = this.reflector.getAllAndOverride<boolean>(BASIC_AUTH_KEY, targets) ?? false;
    const allowed = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets) ?? [];
    await this.authentication.authenticate(request, context.switchToHttp().getResponse<FastifyReply>(), allowed, basicAllowed);
    return true;
  }
}
