import { Inject, Injectable, Optional } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { HeloPassMetrics } from '@app/metrics';
import { RateLimitedException } from './problem.js';
import type { HeloPassRequest } from './request-context.js';

const MINUTE_MS = 60_000;
/**
 * Client addresses the per-address limit remembers at most (its store is an
 * LRU); the per-key and failure limiters keep the plugin's 5 000 each.
 */
const REMEMBERED_ADDRESSES = 10_000;

/** Whole seconds until a window ends, at least 1 (`Retry-After`). */
const secondsLeft = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs / 1000));

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** A console request: its session is counted per key by the auth guard, like a Bearer key. */
function hasConsoleSession(request: FastifyRequest): boolean {
  return request.headers.cookie?.includes('helopass_session=') ?? false;
}

/** The allowlist feed, which filters poll: a budget of its own. */
function isFeedRoute(request: FastifyRequest): boolean {
  return (request.routeOptions.url ?? request.url).startsWith('/v1/allowlist');
}

/**
 * Request budgets, counted by @fastify/rate-limit (in memory, per process):
 * - per API key: `RATE_LIMIT_PER_MINUTE`, and `RATE_LIMIT_FEED_PER_MINUTE`
 *   for the feed (counted apart, so a polling filter never eats into the
 *   budget of the rest of the API);
 * - per client address, for requests that present no key (docs, a missing
 *   header): `RATE_LIMIT_PER_MINUTE`; health checks are not counted;
 * - per client address, failed authentications:
 *   `RATE_LIMIT_AUTH_FAILURES_PER_MINUTE`; once used up, every request with
 *   a key from that address answers 429 before its key is even looked at, so
 *   keys cannot be guessed at speed.
 * The client address is the peer's, or the one a trusted proxy names in
 * X-Forwarded-For (`TRUSTED_PROXIES`, Fastify's `trustProxy`).
 */
@Injectable()
export class RateLimits {
  private perKey: Limiter | undefined;
  private feedPerKey: Limiter | undefined;
  private failures: Limiter | undefined;

  constructor(
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    @Optional() private readonly metrics?: HeloPassMetrics,
  ) {}

  /** Registers the plugin; before the routes, so that its per-address limit reaches them. */
  async install(app: NestFastifyApplication): Promise<void> {
    const limits = this.config.rateLimits;
    await app.register(rateLimit, {
      global: true,
      max: limits.perMinute,
      timeWindow: MINUTE_MS,
      cache: REMEMBERED_ADDRESSES,
      // Requests that present a key are counted per key (or as failures) by the auth guard.
      allowList: (request) =>
        request.url.startsWith('/health/') ||
        ((request.headers.authorization !== undefined || hasConsoleSession(request)) && request.url.startsWith('/v1/')),
      errorResponseBuilder: (_request, context) => {
        this.metrics?.rateLimitRefusals.inc({ limit: 'address' });
        const seconds = secondsLeft(context.ttl);
        return new RateLimitedException(seconds, `too many requests from this address; retry after ${seconds} s`);
      },
    });
    const fastify = app.getHttpAdapter().getInstance();
    const byCaller = (request: FastifyRequest) => (request as HeloPassRequest).caller?.id ?? 'none';
    this.perKey = fastify.createRateLimit({ max: limits.perMinute, timeWindow: MINUTE_MS, keyGenerator: byCaller, allowList: () => false });
    this.feedPerKey = fastify.createRateLimit({ max: limits.feedPerMinute, timeWindow: MINUTE_MS, keyGenerator: byCaller, allowList: () => false });
    // Keyed by the client address (IPv6 by its /64, the plugin's default).
    this.failures = fastify.createRateLimit({ max: limits.authFailuresPerMinute, timeWindow: MINUTE_MS, allowList: () => false });
  }

  /** 429 when this client address has used up its failed authentications. */
  async refuseWhileBlocked(request: FastifyRequest): Promise<void> {
    const status = await this.limiter(this.failures)(request, { increment: false });
    if (!status.isAllowed && status.remaining === 0 && status.ttl > 0) {
      this.metrics?.rateLimitRefusals.inc({ limit: 'auth-failures' });
      const seconds = secondsLeft(status.ttl);
      throw new RateLimitedException(seconds, `too many failed authentications from this address; retry after ${seconds} s`);
    }
  }

  /** Counts one failed authentication against the client address. */
  async countFailure(request: FastifyRequest): Promise<void> {
    await this.limiter(this.failures)(request);
  }

  /** Counts one request against the caller's key; 429 when its budget is used up. */
  async countRequest(request: HeloPassRequest, reply: FastifyReply): Promise<void> {
    const feed = isFeedRoute(request);
    const limiter = this.limiter(feed ? this.feedPerKey : this.perKey);
    const status = await limiter(request);
    if (status.isAllowed) {
      return;
    }
    void reply
      .header('x-ratelimit-limit', String(status.max))
      .header('x-ratelimit-remaining', String(status.remaining))
      .header('x-ratelimit-reset', String(status.ttlInSeconds));
    if (status.isExceeded) {
      this.metrics?.rateLimitRefusals.inc({ limit: feed ? 'feed' : 'key' });
      const seconds = secondsLeft(status.ttl);
      throw new RateLimitedException(seconds, `too many requests for this API key; retry after ${seconds} s`);
    }
  }

  private limiter(limiter: Limiter | undefined): Limiter {
    if (!limiter) {
      throw new Error('RateLimits.install() must run before the app serves requests');
    }
    return limiter;
  }
}
