import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The cookie that carries a console session's token (and nothing else). */
export const SESSION_COOKIE = 'helopass_session';
/** The header every state-changing request of the console sends (double-submit, derived from the token). */
export const CSRF_HEADER = 'x-csrf-token';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** 256 random bits, URL-safe: the session's bearer secret. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function isWellFormedSessionToken(value: string): boolean {
  return TOKEN.test(value);
}

/** What the database keeps: a stolen table opens no session. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The CSRF token of a session: derived from the session's secret, so only
 * someone who could read the console's own responses (same origin) knows it;
 * a cross-site form or fetch carries the cookie but cannot send this header.
 */
export function csrfTokenFor(token: string): string {
  return createHmac('sha256', token).update('helopass console csrf').digest('base64url');
}

export function csrfTokenMatches(token: string, presented: string | undefined): boolean {
  if (presented === undefined) {
    return false;
  }
  const expected = Buffer.from(csrfTokenFor(token));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
