import { boolean, integer, optional, type Env } from './env.js';

/** The Postfix policy server (apps/policy). */
export interface PolicyServerConfig {
  /** Where it listens (POLICY_HOST, POLICY_PORT): Postfix's `check_policy_service inet:host:port`. */
  readonly host: string;
  readonly port: number;
  /** Run it inside `npm start`, as a process of its own. */
  readonly runWithApi: boolean;
  /** Connections open at once; Postfix keeps one per smtpd process that asked. */
  readonly maxConnections: number;
  /** Largest request in bytes; Postfix's requests are well under 2 KiB. */
  readonly maxRequestBytes: number;
  /**
   * An idle connection is closed after this long: longer than Postfix's own
   * smtpd_policy_service_max_idle (300 s), so that Postfix closes it first.
   */
  readonly idleTimeoutSeconds: number;
  /** A request begun must be complete within this long (a client trickling bytes is cut off). */
  readonly requestTimeoutSeconds: number;
  /** Match counts are written to the exceptions this often (one batch per flush). */
  readonly usageFlushSeconds: number;
}

export function policyServer(env: Env): PolicyServerConfig {
  return {
    host: optional(env, 'POLICY_HOST') ?? '127.0.0.1',
    port: integer(env, 'POLICY_PORT', 10040, 0, 65535),
    runWithApi: boolean(env, 'RUN_POLICY_SERVER', true),
    maxConnections: integer(env, 'POLICY_MAX_CONNECTIONS', 1000, 1, 100_000),
    maxRequestBytes: integer(env, 'POLICY_MAX_REQUEST_BYTES', 8192, 512, 1024 * 1024),
    idleTimeoutSeconds: integer(env, 'POLICY_IDLE_TIMEOUT_SECONDS', 330, 1, 86_400),
    requestTimeoutSeconds: integer(env, 'POLICY_REQUEST_TIMEOUT_SECONDS', 10, 1, 3600),
    usageFlushSeconds: integer(env, 'POLICY_USAGE_FLUSH_SECONDS', 10, 1, 3600),
  };
}
