import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';
import {
  ConflictError,
  DomainError,
  ForbiddenActionError,
  InvalidFieldError,
  NotFoundError,
  PreconditionFailedError,
  GoneError,
  RuleViolationError,
} from '@app/domain';
import { databaseUnavailability } from '@app/database';

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  requestId: string;
  errors?: FieldError[];
}

/**
 * A 400 with the list of invalid fields (thrown by the validation pipe):
 * one message per field, the first given for it, so a caller reads what to
 * fix rather than every rule the value broke.
 */
export class ValidationProblemException extends HttpException {
  readonly fieldErrors: FieldError[];

  constructor(fieldErrors: FieldError[]) {
    super('Invalid request', 400);
    const seen = new Set<string>();
    this.fieldErrors = fieldErrors.filter((error) => !seen.has(error.field) && seen.add(error.field));
  }
}

/** A 429: a rate limit is used up until `retryAfterSeconds` from now. */
export class RateLimitedException extends HttpException {
  constructor(
    readonly retryAfterSeconds: number,
    detail: string,
  ) {
    super(detail, 429);
  }
}

const PROBLEM_BASE = 'urn:helopass:problem:';

function problem(status: number, slug: string, title: string, requestId: string, detail?: string): Problem {
  return { type: PROBLEM_BASE + slug, title, status, ...(detail === undefined ? {} : { detail }), requestId };
}

function fromDomainError(error: DomainError, requestId: string): Problem {
  if (error instanceof NotFoundError) {
    return problem(404, 'not-found', 'Not found', requestId, error.message);
  }
  if (error instanceof ConflictError) {
    return problem(409, 'conflict', 'Conflict', requestId, error.message);
  }
  if (error instanceof RuleViolationError) {
    return problem(422, 'rule-violation', 'Not allowed by the rules', requestId, error.message);
  }
  if (error instanceof ForbiddenActionError) {
    return problem(403, 'forbidden', 'Forbidden', requestId, error.message);
  }
  if (error instanceof PreconditionFailedError) {
    return problem(412, 'precondition-failed', 'Precondition failed', requestId, error.message);
  }
  if (error instanceof GoneError) {
    return problem(410, 'gone', 'Gone', requestId, error.message);
  }
  if (error instanceof InvalidFieldError) {
    return {
      ...problem(400, 'validation', 'Invalid request', requestId, error.message),
      errors: [{ field: error.field, message: error.reason }],
    };
  }
  return problem(400, 'bad-request', 'Bad request', requestId, error.message);
}

/** Fastify's own errors (body parsing, limits) carry a status code and a code. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
}

function fromFastifyError(error: FastifyLikeError, requestId: string): Problem | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(413, 'payload-too-large', 'Request body too large', requestId, 'the request body exceeds the size limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(415, 'unsupported-media-type', 'Unsupported media type', requestId, 'send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem(400, 'malformed-json', 'Malformed JSON', requestId, 'the request body is not valid JSON');
    case 'FST_ERR_BAD_URL':
      return problem(400, 'bad-request', 'Bad request', requestId, 'the URL is not validly percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problem(414, 'uri-too-long', 'URI too long', requestId, 'a path segment of the URL is too long');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem(400, 'bad-request', 'Bad request', requestId, 'Content-Length does not match the body');
    default:
      if (error instanceof SyntaxError && error.statusCode === 400) {
        return problem(400, 'malformed-json', 'Malformed JSON', requestId, 'the request body is not valid JSON');
      }
      return undefined;
  }
}

/** Prisma's request errors carry a code (P2002 unique, P2025 not found, P2003 foreign key). */
function fromPrismaError(error: { code?: unknown; name?: unknown }, requestId: string): Problem | undefined {
  if (error.name !== 'PrismaClientKnownRequestError') {
    return undefined;
  }
  switch (error.code) {
    case 'P2002':
      return problem(409, 'conflict', 'Conflict', requestId, 'a resource with the same unique value already exists');
    case 'P2025':
      return problem(404, 'not-found', 'Not found', requestId, 'the resource does not exist');
    case 'P2003':
      return problem(409, 'conflict', 'Conflict', requestId, 'the change refers to a resource that does not exist');
    default:
      return undefined;
  }
}

function fromHttpException(error: HttpException, requestId: string): Problem {
  const status = error.getStatus();
  if (error instanceof ValidationProblemException) {
    return {
      ...problem(400, 'validation', 'Invalid request', requestId, error.fieldErrors.map((e) => `${e.field} ${e.message}`).join('; ')),
      errors: error.fieldErrors,
    };
  }
  if (status === 400 && /not valid JSON/i.test(error.message)) {
    return problem(400, 'malformed-json', 'Malformed JSON', requestId, 'the request body is not valid JSON');
  }
  const title = STATUS_CODES[status] ?? 'Error';
  if (status === 404) {
    return problem(404, 'not-found', 'Not found', requestId, 'no resource or route at this path');
  }
  if (status === 401) {
    return problem(401, 'unauthorized', 'Unauthorized', requestId, error.message);
  }
  if (status === 403) {
    return problem(403, 'forbidden', 'Forbidden', requestId, error.message);
  }
  if (status === 503) {
    return problem(503, 'unavailable', 'Service unavailable', requestId, error.message);
  }
  if (error instanceof RateLimitedException) {
    return problem(429, 'rate-limited', 'Too many requests', requestId, error.message);
  }
  // Nest's built-in messages never contain submitted values.
  return problem(status, status >= 500 ? 'internal' : 'http-' + status, title, requestId, status >= 500 ? undefined : error.message);
}

export interface ProblemSettings {
  /** `Retry-After` of a 503 answered because the database is unavailable. */
  readonly databaseRetryAfterSeconds: number;
}

export interface MappedProblem {
  problem: Problem;
  /** Not the caller's fault and not foreseen: logged with its cause, answered with the request id alone. */
  unexpected: boolean;
  /** The database could not serve the request (logged as a warning, answered 503). */
  databaseUnavailable?: boolean;
  /** Sent as `Retry-After`. */
  retryAfterSeconds?: number;
}

/**
 * A database that cannot be reached, or does not answer in time, is a
 * temporary condition: 503 with `Retry-After`, never 500. Writes run in
 * transactions, so a request that failed this way left nothing behind.
 */
function fromDatabaseUnavailable(error: unknown, requestId: string, settings: ProblemSettings): MappedProblem | undefined {
  const reason = databaseUnavailability(error);
  if (!reason) {
    return undefined;
  }
  const seconds = settings.databaseRetryAfterSeconds;
  const detail =
    reason === 'busy'
      ? `the database did not answer in time; retry after ${seconds} s`
      : `the database cannot be reached; retry after ${seconds} s`;
  return {
    problem: problem(503, 'database-unavailable', 'Database unavailable', requestId, detail),
    unexpected: false,
    databaseUnavailable: true,
    retryAfterSeconds: seconds,
  };
}

const DEFAULT_SETTINGS: ProblemSettings = { databaseRetryAfterSeconds: 5 };

/** Maps any error to a problem (RFC 9457) and what goes with it. */
export function toProblem(error: unknown, requestId: string, settings: ProblemSettings = DEFAULT_SETTINGS): MappedProblem {
  if (error instanceof DomainError) {
    return { problem: fromDomainError(error, requestId), unexpected: false };
  }
  if (error instanceof RateLimitedException) {
    return { problem: fromHttpException(error, requestId), unexpected: false, retryAfterSeconds: error.retryAfterSeconds };
  }
  if (error instanceof HttpException) {
    return { problem: fromHttpException(error, requestId), unexpected: error.getStatus() >= 500 && error.getStatus() !== 503 };
  }
  const database = fromDatabaseUnavailable(error, requestId, settings);
  if (database) {
    return database;
  }
  if (error !== null && typeof error === 'object') {
    const known =
      fromFastifyError(error as FastifyLikeError, requestId) ??
      fromPrismaError(error as { code?: unknown; name?: unknown }, requestId);
    if (known) {
      return { problem: known, unexpected: false };
    }
  }
  return {
    problem: problem(500, 'internal', 'Internal server error', requestId, 'an unexpected error occurred; quote the request id when reporting it'),
    unexpected: true,
  };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
