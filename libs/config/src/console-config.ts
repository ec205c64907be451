import { boolean, integer, oneOf, ConfigError, type Env } from './env.js';

/** The web console's sessions and the public self-check page. */
export interface ConsoleConfig {
  /** A session unused this long ends (CONSOLE_SESSION_IDLE_MINUTES). */
  readonly sessionIdleMs: number;
  /** A session ends this long after sign-in, however busy (CONSOLE_SESSION_MAX_HOURS). */
  readonly sessionMaxMs: number;
  /**
   * When the session cookie carries `Secure`: `auto` when the request came
   * over TLS (directly, or as a trusted proxy's X-Forwarded-Proto says),
   * `always`, or `never` (CONSOLE_COOKIE_SECURE).
   */
  readonly cookieSecure: 'auto' | 'always' | 'never';
  /** Self-checks one client address may run a minute (PUBLIC_CHECK_PER_MINUTE). */
  readonly publicCheckPerMinute: number;
  /** Serve the console at /console and the self-check page at /check (CONSOLE_ENABLED). */
  readonly enabled: boolean;
}

const MINUTE = 60_000;

export function consoleConfig(env: Env): ConsoleConfig {
  const secure = oneOf(env, 'CONSOLE_COOKIE_SECURE', ['auto', 'always', 'never'], 'auto');
  const sessionIdleMs = integer(env, 'CONSOLE_SESSION_IDLE_MINUTES', 30, 1, 24 * 60) * MINUTE;
  const sessionMaxMs = integer(env, 'CONSOLE_SESSION_MAX_HOURS', 12, 1, 7 * 24) * 60 * MINUTE;
  if (sessionIdleMs > sessionMaxMs) {
    throw new ConfigError('CONSOLE_SESSION_IDLE_MINUTES must not be longer than CONSOLE_SESSION_MAX_HOURS');
  }
  return {
    sessionIdleMs,
    sessionMaxMs,
    cookieSecure: secure,
    publicCheckPerMinute: integer(env, 'PUBLIC_CHECK_PER_MINUTE', 30, 1, 100_000),
    enabled: boolean(env, 'CONSOLE_ENABLED', true),
  };
}
