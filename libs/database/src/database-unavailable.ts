/**
 * Recognises the errors that mean "the database cannot serve this now, try
 * again soon" — as opposed to a bug or a misconfiguration — whichever layer
 * raised them: `pg` and its pool, Prisma's `pg` driver adapter, or Prisma.
 * The API answers them 503 with `Retry-After`, never 500.
 */

/** The app itself decided not to wait for the database (it did not answer in time, or is known to be down). */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';

  constructor(
    readonly reason: DatabaseUnavailability,
    message = reason === 'busy' ? 'the database did not answer in time' : 'the database cannot be reached',
  ) {
    super(message);
  }
}

/** `unreachable`: no connection (refused, lost, shutting down); `busy`: connected but out of time or capacity. */
export type DatabaseUnavailability = 'unreachable' | 'busy';

const UNREACHABLE_CODES = new Set([
  // Prisma: can't reach the server, timed out reaching it, server closed the connection.
  'P1001',
  'P1002',
  'P1017',
  // Node sockets.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // SQLSTATE class 08 (connection exception) and the server going away or starting up:
  // admin_shutdown, crash_shutdown, cannot_connect_now.
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
]);

const BUSY_CODES = new Set([
  // Prisma: an operation, or waiting for a pooled connection, timed out.
  'P1008',
  'P2024',
  // SQLSTATE too_many_connections, query_canceled (statement_timeout), lock_not_available
  // (lock_timeout), idle_in_transaction_session_timeout.
  '53300',
  '57014',
  '55P03',
  '25P03',
]);

/** Kinds of Prisma's driver-adapter errors (`meta.driverAdapterError.cause.kind`). */
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed']);
const BUSY_KINDS = new Set(['SocketTimeout', 'TooManyConnections']);

/** Messages of `pg` and `pg-pool` errors that carry no code. */
const UNREACHABLE_MESSAGES = /Connection terminated|not queryable|Client was closed|Connection ended/i;
const BUSY_MESSAGES = /timeout exceeded when trying to connect|Query read timeout/i;

/** P2028 is Prisma's "transaction API error"; only its time-outs mean a busy database. */
const TRANSACTION_TIMEOUT = /given time|expired transaction|timeout/i;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
}

function classifyOne(error: ErrorLike): DatabaseUnavailability | undefined {
  if (error instanceof DatabaseUnavailableError) {
    return error.reason;
  }
  const code = typeof error.code === 'string' ? error.code : undefined;
  const kind = typeof error.kind === 'string' ? error.kind : undefined;
  const message = typeof error.message === 'string' ? error.message : '';
  if ((code !== undefined && UNREACHABLE_CODES.has(code)) || (kind !== undefined && UNREACHABLE_KINDS.has(kind))) {
    return 'unreachable';
  }
  if ((code !== undefined && BUSY_CODES.has(code)) || (kind !== undefined && BUSY_KINDS.has(kind))) {
    return 'busy';
  }
  if (code === 'P2028' && TRANSACTION_TIMEOUT.test(message)) {
    return 'busy';
  }
  if (UNREACHABLE_MESSAGES.test(message)) {
    return 'unreachable';
  }
  if (BUSY_MESSAGES.test(message)) {
    return 'busy';
  }
  return undefined;
}

/** Why the database cannot serve now, or `undefined` when `error` is something else. */
export function databaseUnavailability(error: unknown): DatabaseUnavailability | undefined {
  // The cause may sit a few layers down: Prisma error → driver adapter error → pg error.
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth += 1) {
    const candidate = current as ErrorLike;
    const found = classifyOne(candidate);
    if (found) {
      return found;
    }
    const adapterError = candidate.meta?.driverAdapterError;
    current = adapterError !== undefined ? adapterError : candidate.cause;
  }
  return undefined;
}
