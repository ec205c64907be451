import type pg from 'pg';
import type { DatabaseLimitsConfig } from '@app/config';

/**
 * How long the server gets beyond its own statement timeout before the client
 * stops waiting: the server normally cancels first (a clear SQLSTATE 57014);
 * this catches a server, or a network, that no longer answers at all.
 */
const CLIENT_WAIT_MARGIN_MS = 2000;

/**
 * The connection settings of every pool and client the app opens, so that
 * nothing waits on PostgreSQL without a bound: opening a connection (or
 * waiting for a free one), a statement, a lock, a session idle inside a
 * transaction. The server-side limits are sent as startup parameters, so
 * they hold for every statement on the connection.
 */
export function connectionOptions(connectionString: string | undefined, limits: DatabaseLimitsConfig): pg.PoolConfig {
  return {
    connectionString,
    connectionTimeoutMillis: limits.connectTimeoutMs,
    statement_timeout: limits.statementTimeoutMs,
    lock_timeout: limits.lockTimeoutMs,
    idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
    query_timeout: limits.statementTimeoutMs + CLIENT_WAIT_MARGIN_MS,
    // A peer that vanished without closing the connection is noticed by TCP keepalive.
    keepAlive: true,
  };
}
