import { CustomerScope } from '../common/customer-scope.decorator.js';
import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { UnauthorizedException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { RateLimits } from '../common/rate-limits.js';
import type { HeloPassRequest } from '../common/request-context.js';
import { Public, Roles } from '../common/roles.decorator.js';
import { ConsoleSessionsService, type ConsoleSessionView } from './console-sessions.service.js';
import { ConsoleSessionDto, CurrentCallerDto, SignInDto } from './dto/console-session.dto.js';
import { SESSION_COOKIE } from './session-token.js';

/** What the auth guard leaves on a request that came with a console session. */
export type ConsoleRequest = HeloPassRequest & { consoleSessionId?: string };

@ApiTags('console')
@Controller('v1/console/session')
export class ConsoleSessionController {
  constructor(
    private readonly sessions: ConsoleSessionsService,
    // The app's one RateLimits (installed with the rate-limit plugin) lives in the root module.
    private readonly moduleRef: ModuleRef,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  @Post()
  @Public()
  @ApiOperation({
    summary:
      'Sign in to the console: exchange a person\'s API key for a session cookie (HttpOnly, SameSite=Strict, Secure over TLS). ' +
      'Requests that change something send the answer\'s csrfToken in X-CSRF-Token.',
  })
  @ApiCreatedResponse({ type: ConsoleSessionDto })
  @ApiUnauthorizedResponse({ description: 'The key is unknown, revoked or expired', type: ProblemResponseDto })
  @ApiForbiddenResponse({ description: 'A filter key', type: ProblemResponseDto })
  @ApiTooManyRequestsResponse({ description: 'Too many failed sign-ins from this address', type: ProblemResponseDto })
  async signIn(@Body() body: SignInDto, @Req() request: ConsoleRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<ConsoleSessionView> {
    // Sign-in is key guessing's other door: the same per-address failure budget as Bearer.
    const rateLimits = this.moduleRef.get(RateLimits, { strict: false });
    await rateLimits.refuseWhileBlocked(request);
    const opened = await this.sessions.signIn(body.key, request.id);
    if (!opened) {
      await rateLimits.countFailure(request);
      throw new UnauthorizedException('the API key is unknown, revoked or expired');
    }
    void reply.setCookie(SESSION_COOKIE, opened.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: this.secure(request),
      // A session cookie (no Max-Age): the browser drops it on exit; the server ends it anyway.
    });
    void reply.status(201);
    return opened.view;
  }

  @Get()
  @Roles('admin', 'csr', 'auditor', 'customer')
  @CustomerScope.caller()
  @ApiOperation({ summary: 'Who is signed in, and the session (null when the request came with an API key instead)' })
  @ApiOkResponse({ type: CurrentCallerDto })
  async current(@Req() request: ConsoleRequest): Promise<{ caller: ConsoleSessionView['caller']; session: ConsoleSessionView | null }> {
    const caller = request.caller!;
    const token = request.consoleSessionId === undefined ? undefined : request.cookies[SESSION_COOKIE];
    const session = token === undefined ? undefined : await this.sessions.describe(token);
    return { caller: { keyId: caller.id, name: caller.name, role: caller.role, owner: caller.owner }, session: session ?? null };
  }

  @Delete()
  @HttpCode(204)
  @Roles('admin', 'csr', 'auditor', 'customer')
  @CustomerScope.caller()
  @ApiOperation({ summary: 'Sign out: the session ends at once (in every process) and its cookie is cleared' })
  @ApiNoContentResponse({ description: 'Signed out (nothing to do for a request made with an API key)' })
  async signOut(@Req() request: ConsoleRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    if (request.consoleSessionId !== undefined) {
      await this.sessions.signOut(request.consoleSessionId, request.caller!, request.id);
    }
    void reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: this.secure(request) });
  }

  private secure(request: ConsoleRequest): boolean {
    const setting = this.config.console.cookieSecure;
    return setting === 'always' || (setting === 'auto' && request.protocol === 'https');
  }
}
