import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { LogLevel } from './config.js';

/**
 * Structured JSON logs. A request is logged by id, method and path only:
 * headers (Authorization, and with it every API key) never reach a log line.
 * Every line written while serving a request carries its `reqId`.
 */
export function loggerOptions(level: LogLevel, stream?: NodeJS.WritableStream): Params {
  const options = {
    level,
    quietReqLogger: true,
    // Mail filters poll the feed every few seconds: a line per poll would drown the log (errors are still logged).
    autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/v1/allowlist') },
    genReqId: (req: IncomingMessage & { id?: string }) => req.id ?? 'unknown',
    redact: { paths: ['req.headers', 'headers.authorization', '*.authorization'], censor: '[redacted]' },
    serializers: {
      req: (req: { id?: string; method?: string; url?: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url?.split('?')[0],
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
  return {
    pinoHttp: stream ? [options, stream] : options,
    // nestjs-pino's default route pattern does not match under Nest 12 + Fastify; this one does.
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
  } as Params;
}
