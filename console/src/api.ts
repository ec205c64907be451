import type { Problem } from './lib/problems.js';

/** An API call that did not succeed: the problem it answered, or one describing why there was no answer. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

/** A request the user should see: still running after a while, or failed. */
export interface Activity {
  pending: number;
  slow: string[];
  failure: string | undefined;
}

const SLOW_AFTER_MS = 2000;
const TIMEOUT_MS = 30_000;
let csrfToken: string | undefined;
let activity: Activity = { pending: 0, slow: [], failure: undefined };
const activityListeners = new Set<(activity: Activity) => void>();
const sessionEndedListeners = new Set<() => void>();

function setActivity(next: Partial<Activity>): void {
  activity = { ...activity, ...next };
  for (const listener of activityListeners) listener(activity);
}

export function onActivity(listener: (activity: Activity) => void): () => void {
  activityListeners.add(listener);
  listener(activity);
  return () => activityListeners.delete(listener);
}

/** Told when the API answers 401 to the session (signed out elsewhere, idle, expired). */
export function onSessionEnded(listener: () => void): () => void {
  sessionEndedListeners.add(listener);
  return () => sessionEndedListeners.delete(listener);
}

/** Kept in memory only: a reload asks the API for it again. */
export function useCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function dismissFailure(): void {
  setActivity({ failure: undefined });
}

/**
 * One call to the API with the session cookie. Writes carry the session's
 * CSRF token. Problems come back as ApiError; a request still running after
 * two seconds is listed as slow, one that fails is announced.
 */
export async function api<T>(method: string, path: string, body?: unknown, options: { quiet404?: boolean } = {}): Promise<T> {
  const label = `${method} ${path.split('?')[0]}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  setActivity({ pending: activity.pending + 1 });
  const slowTimer = setTimeout(() => setActivity({ slow: [...activity.slow, label] }), SLOW_AFTER_MS);
  const finish = () => {
    clearTimeout(slowTimer);
    const index = activity.slow.indexOf(label);
    setActivity({ pending: activity.pending - 1, slow: index === -1 ? activity.slow : activity.slow.filter((_, i) => i !== index) });
  };
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    finish();
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    const problem: Problem = {
      title: timedOut ? 'No answer in time' : 'The server could not be reached',
      status: 0,
      detail: timedOut ? `${label} got no answer within ${TIMEOUT_MS / 1000} s` : `${label} failed: check the connection and try again`,
    };
    setActivity({ failure: problem.detail });
    throw new ApiError(problem);
  }
  finish();
  if (response.status === 204) {
    return undefined as T;
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem: Problem =
      parsed && typeof parsed === 'object' && 'title' in parsed
        ? (parsed as Problem)
        : { title: response.statusText || 'Error', status: response.status, detail: `${label} answered ${response.status}` };
    if (response.status === 401 && path !== '/v1/console/session') {
      for (const listener of sessionEndedListeners) listener();
    } else if (response.status >= 500 || response.status === 429) {
      setActivity({ failure: `${label}: ${problem.detail ?? problem.title}` });
    } else if (response.status === 404 && options.quiet404) {
      // The caller handles a missing route or resource itself.
    }
    throw new ApiError(problem);
  }
  return parsed as T;
}

/** Every page of a list route, up to `max` items. */
export async function listAll<T>(path: string, max = 1000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: { items: T[]; nextCursor: string | null } = await api('GET', `${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < max);
  return items;
}
