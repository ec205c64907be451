import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Catch, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { PROBLEM_CONTENT_TYPE, toProblem, type ProblemSettings } from './problem.js';

/** Answers every error as RFC 9457 problem+json. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');
  private readonly settings: ProblemSettings;

  constructor(@Inject(HELOPASS_CONFIG) config: HeloPassConfig) {
    this.settings = { databaseRetryAfterSeconds: config.database.retryAfterSeconds };
  }

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendProblem(error, request, reply, this.logger, this.settings);
  }
}

export function sendProblem(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
  settings?: ProblemSettings,
): void {
  const { problem, unexpected, databaseUnavailable, retryAfterSeconds } = toProblem(error, request.id, settings);
  if (unexpected) {
    logger.error({ err: error, requestId: request.id }, 'unexpected error');
  } else if (databaseUnavailable) {
    // Expected during an outage; one line per request, without a stack, is enough to see it.
    logger.warn({ err: error instanceof Error ? error.message : String(error), requestId: request.id }, 'database unavailable');
  }
  if (retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(retryAfterSeconds));
  }
  if (problem.status === 401) {
    reply.header('www-authenticate', 'Bearer realm="helopass", Basic realm="helopass"');
  }
  if (reply.sent) {
    return;
  }
  void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
}

/**
 * Node's HTTP parser refuses some requests before there is a request to
 * answer (headers over the size limit, a malformed request line): the
 * answer is written to the socket, as problem+json, and the connection closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  const [status, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'the request line or headers exceed the size limit']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'the request took too long to arrive']
        : [400, 'the request is not valid HTTP'];
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const body = JSON.stringify({ type: 'urn:helopass:problem:http-' + status, title, status, detail, requestId: randomUUID() });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
