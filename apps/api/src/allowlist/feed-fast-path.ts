import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { NotFoundError, type Role } from '@app/domain';
import { HeloPassMetrics } from '@app/metrics';
import type { Rendering } from '@app/enforcement';
import { CallerAuthentication } from '../common/auth.guard.js';
import { sendProblem } from '../common/problem.filter.js';
import type { HeloPassRequest } from '../common/request-context.js';
import { AllowlistService } from './allowlist.service.js';

/** Who may read the feed (also in the controller's decorators, which document the same routes). */
export const FEED_ROLES: readonly Role[] = ['filter', 'auditor', 'admin'];
const TEXT_RENDERINGS = new Set(['postfix-cidr', 'postfix-helo', 'rspamd-ip', 'rspamd-helo']);

/** The rendering a feed route names (with `.sig` for its signature), or undefined for any other route. */
function feedTarget(request: FastifyRequest): { rendering: Rendering; signature: boolean } | undefined {
  switch (request.routeOptions.url) {
    case '/v1/allowlist':
      return { rendering: 'json', signature: false };
    case '/v1/allowlist.sig':
      return { rendering: 'json', signature: true };
    case '/v1/allowlist/:rendering': {
      const name = (request.params as { rendering?: string }).rendering ?? '';
      const signature = name.endsWith('.sig');
      const rendering = signature ? name.slice(0, -4) : name;
      if (!TEXT_RENDERINGS.has(rendering)) {
        throw new NotFoundError('rendering');
      }
      return { rendering: rendering as Rendering, signature };
    }
    default:
      return undefined;
  }
}

/**
 * The feed at wire speed: mail filters poll it every few seconds, mostly for
 * a 304, so its routes are answered in a Fastify `onRequest` hook — before
 * Nest's guards, interceptors, pipes and exception filters run — with the
 * same authentication (the key cache, Basic or Bearer, rate limits, roles),
 * the same headers and the same problem+json errors. The controller still
 * declares these routes: that is what routes them, and what the OpenAPI
 * document describes. A request without credentials goes the ordinary way
 * (its 401 is counted per client address by the rate-limit plugin).
 */
export function installFeedFastPath(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const authentication = app.get(CallerAuthentication);
  const allowlist = app.get(AllowlistService);
  const config = app.get<HeloPassConfig>(HELOPASS_CONFIG);
  const settings = { databaseRetryAfterSeconds: config.database.retryAfterSeconds };
  const logger = new Logger('Feed');
  const metrics = app.get(HeloPassMetrics, { strict: false });
  fastify.addHook('onRequest', async (request: HeloPassRequest, reply: FastifyReply) => {
    // Filters poll without a query string; `?asOf=` (auditors) and anything unusual take the ordinary way,
    // where the query string is validated like every other.
    if ((request.method !== 'GET' && request.method !== 'HEAD') || request.headers.authorization === undefined || request.url.includes('?')) {
      return;
    }
    // The rendering polled (".sig": its signature), once the route is known to be the feed's.
    let polled: string | undefined;
    try {
      const target = feedTarget(request);
      if (target === undefined) {
        return;
      }
      polled = target.signature ? `${target.rendering}.sig` : target.rendering;
      await authentication.authenticate(request, reply, FEED_ROLES, true);
      await allowlist.send(
        target.rendering,
        target.signature,
        {
          role: request.caller!.role,
          ifNoneMatch: request.headers['if-none-match'],
          ifModifiedSince: request.headers['if-modified-since'],
          acceptEncoding: request.headers['accept-encoding'],
          asOf: undefined,
        },
        reply,
      );
    } catch (error) {
      sendProblem(error, request, reply, logger, settings);
    }
    if (polled !== undefined) {
      metrics.feedPolls.inc({ rendering: polled, status: String(reply.statusCode) });
    }
    return reply;
  });
}
