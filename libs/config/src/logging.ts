import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import { prettyFactory } from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.js';

/**
 * Nest's own start-up lines (a module wired, a route mapped): some seventy
 * of them at every start. In JSON they are kept for the log collector; on a
 * terminal they would bury what a person needs to read (the first admin key).
 */
const NEST_WIRING_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);
const INFO = 30;

/** LOG_FORMAT as it applies to this process: `auto` is readable lines on a terminal, JSON lines anywhere else. */
export function resolveLogFormat(format: LogFormat, stdout: { isTTY?: boolean } = process.stdout): 'json' | 'pretty' {
  if (format !== 'auto') {
    return format;
  }
  return stdout.isTTY === true ? 'pretty' : 'json';
}

/**
 * Readable lines on standard output (pino-pretty), one write per line, in
 * step with what the process prints itself: a log line is never printed
 * after a line that was written after it.
 */
export function prettyStream(out: NodeJS.WritableStream = process.stdout): NodeJS.WritableStream {
  const prettify = prettyFactory({
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,context,reqId,req,res,responseTime',
    singleLine: true,
    messageFormat: readableMessage,
    // Colours for a terminal only (and not with NO_COLOR): LOG_FORMAT=pretty into a file or pipe stays plain text.
    colorize: (out as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR,
  });
  return {
    write: (line: string) => out.write(prettify(line)),
  } as NodeJS.WritableStream;
}

interface LogLine {
  msg?: unknown;
  context?: unknown;
  req?: { method?: string; path?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

/** `context: message`, and for a request `GET /v1/organizations → 201 in 12 ms`. */
function readableMessage(log: LogLine): string {
  const parts = [log.context, log.msg].filter((part) => typeof part === 'string' && part !== '');
  if (log.req?.method !== undefined) {
    const status = log.res?.statusCode !== undefined ? ` → ${log.res.statusCode}` : '';
    const time = log.responseTime !== undefined ? ` in ${log.responseTime} ms` : '';
    parts.push(`${log.req.method} ${log.req.path ?? ''}${status}${time}`);
  }
  return parts.join(': ');
}

export interface LoggerFormat {
  /** LOG_FORMAT; `json` when not given. */
  readonly format?: LogFormat;
  /** Which process speaks (`helopass`, `helopass-worker`): shown on readable lines, where both processes share a terminal. */
  readonly name?: string;
}

/**
 * Structured logs: JSON lines, or readable lines on a terminal (LOG_FORMAT).
 * A request is logged by id, method and path only: headers (Authorization,
 * and with it every API key) never reach a log line. Every line written
 * while serving a request carries its `reqId`. A stream given (tests) always
 * receives JSON.
 */
export function loggerOptions(level: LogLevel, stream?: NodeJS.WritableStream, format: LoggerFormat = {}): Params {
  const pretty = stream === undefined && resolveLogFormat(format.format ?? 'json') === 'pretty';
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
    ...(pretty
      ? {
          name: format.name,
          hooks: {
            logMethod(this: unknown, args: unknown[], method: (...args: unknown[]) => void, levelValue: number) {
              const context = (args[0] as { context?: unknown } | null | undefined)?.context;
              if (levelValue === INFO && typeof context === 'string' && NEST_WIRING_CONTEXTS.has(context)) {
                return;
              }
              method.apply(this, args);
            },
          },
        }
      : {}),
  };
  const destination = stream ?? (pretty ? prettyStream() : undefined);
  return {
    pinoHttp: destination ? [options, destination] : options,
    // nestjs-pino's default route pattern does not match under Nest 12 + Fastify; this one does.
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
  } as Params;
}
