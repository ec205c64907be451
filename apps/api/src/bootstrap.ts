import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { HeloPassConfig } from '@app/config';
import { BlocklistScreening, warnWhenBlocklistsAreOff } from '@app/exceptions';
import { AppModule, type AppOptions } from './app.module.js';
import { answerClientError, sendProblem } from './common/problem.filter.js';
import { RateLimits } from './common/rate-limits.js';
import { installFeedFastPath } from './allowlist/feed-fast-path.js';
import { installHttpMetrics } from './observability/http-metrics.js';
import { assertBodyDepth, createValidationPipe } from './common/validation.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const frameworkLogger = new NestLogger('ProblemFilter');

/** `X-Request-Id` from the caller when it is sane, else a new UUID. */
function requestId(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  const id = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
  (req as IncomingMessage & { id?: string }).id = id; // read by the request logger
  return id;
}

export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('HeloPass')
    .setDescription(
      'Exceptions to the HELO hostname check, granted to customers whose mail servers fail it, ' +
        'proven through DNS and fed to Postfix and rspamd. Every route but health and docs needs ' +
        '`Authorization: Bearer <api key>`; `x-roles` lists the roles a route accepts. Errors are ' +
        'RFC 9457 problem+json. Any route may answer 429 (a rate limit is used up) or 503 (the database ' +
        'is unavailable), both with `Retry-After` in seconds.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' })
    .addBasicAuth({ type: 'http', scheme: 'basic', description: 'Any user name, the API key as password (feed only)' })
    .build();
  return SwaggerModule.createDocument(app, config);
}

/**
 * Everything that makes the HTTP app what it is, shared by `main.ts` and the
 * e2e tests so that tests run the real pipeline.
 */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // First: the plugin's per-address limit attaches to the routes registered after it.
  await app.get(RateLimits).install(app);
  // The console's session cookie (read by the auth guard, set at sign-in).
  await app.register(fastifyCookie);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  installHttpMetrics(app);
  // After the request id, before everything else: the feed answers here.
  installFeedFastPath(app);
  // Before interceptors (idempotency hashes the body) and pipes walk the body recursively.
  fastify.addHook('preValidation', async (request) => {
    assertBodyDepth(request.body);
  });
  app.useGlobalPipes(createValidationPipe());
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/json',
    yamlDocumentUrl: 'docs/yaml',
  });
  await app.init();
  await fastify.ready();
}

export async function createApp(config: HeloPassConfig, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestId,
    requestIdHeader: false,
    logger: false,
    return503OnClosing: true,
    // The router refuses a URL that is not valid percent-encoded UTF-8 (400) or
    // has an over-long segment (414), and Node a request line or headers over
    // its size limit (431), before any Nest code runs: answer those as
    // problem+json too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => sendProblem(error, request, reply, frameworkLogger),
    clientErrorHandler: answerClientError,
    // X-Forwarded-For names the client only when it comes from a proxy we were told to trust.
    trustProxy: config.rateLimits.trustedProxies.length > 0 ? config.rateLimits.trustedProxies : false,
    // A socket idle this long is closed; the whole request must arrive within requestTimeout
    // (slow senders cannot hold connections); kept-alive connections of pollers wait keepAliveTimeout.
    connectionTimeout: config.http.connectionTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
  });
  const onRoute = options.onRoute;
  if (onRoute) {
    adapter.getInstance().addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        onRoute(method, route.url);
      }
    });
  }
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  warnWhenBlocklistsAreOff(app.get(BlocklistScreening), app.get(Logger));
  await configureApp(app);
  return app;
}
