import { describe, expect, it } from 'vitest';
import { consoleConfig } from './console-config.js';

describe('console settings', () => {
  it('defaults to a 30-minute idle and 12-hour absolute session, Secure over TLS', () => {
    expect(consoleConfig({})).toEqual({
      sessionIdleMs: 30 * 60_000,
      sessionMaxMs: 12 * 3_600_000,
      cookieSecure: 'auto',
      publicCheckPerMinute: 30,
      enabled: true,
    });
  });

  it('stops start-up on a bad value, naming the variable', () => {
    expect(() => consoleConfig({ CONSOLE_COOKIE_SECURE: 'sometimes' })).toThrow(/CONSOLE_COOKIE_SECURE/);
    expect(() => consoleConfig({ CONSOLE_SESSION_IDLE_MINUTES: '0' })).toThrow(/CONSOLE_SESSION_IDLE_MINUTES/);
    expect(() => consoleConfig({ CONSOLE_SESSION_MAX_HOURS: '1', CONSOLE_SESSION_IDLE_MINUTES: '90' })).toThrow(/not be longer than CONSOLE_SESSION_MAX_HOURS/);
    expect(() => consoleConfig({ PUBLIC_CHECK_PER_MINUTE: 'lots' })).toThrow(/PUBLIC_CHECK_PER_MINUTE/);
    expect(() => consoleConfig({ CONSOLE_ENABLED: 'maybe' })).toThrow(/CONSOLE_ENABLED/);
  });
});
