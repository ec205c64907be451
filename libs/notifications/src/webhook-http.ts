import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { bareHost, type TargetGuard } from './target-guard.js';

/** What one delivery attempt came to. */
export interface AttemptResult {
  readonly outcome: 'delivered' | 'failed' | 'refused';
  readonly statusCode: number | null;
  /** Why it failed, for the delivery log (never a secret; at most a short, cleaned excerpt of the receiver's answer). */
  readonly error: string | null;
  /** The URL last tried (after redirects). */
  readonly target: string | null;
}

export interface PostOptions {
  readonly guard: TargetGuard;
  /** The whole attempt, every hop included. */
  readonly timeoutMs: number;
  readonly maxRedirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** What is read of a receiver's answer: enough for an error message, never a download. */
const ANSWER_EXCERPT_BYTES = 512;

/** A lookup that answers the address already checked, whatever is asked: the connection goes where the check looked. */
export function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) {
      callback(null, [{ address, family }]);
    } else {
      callback(null, address, family);
    }
  }) as LookupFunction;
}

function excerpt(bytes: Buffer): string {
  return bytes
    .toString('utf8')
    .replace(/[\p{Cc}\p{Cs}]+/gu, ' ')
    .trim()
    .slice(0, 200);
}

interface HopAnswer {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
}

function hop(url: URL, address: string, family: 4 | 6, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<HopAnswer> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      {
        protocol: url.protocol,
        hostname: bareHost(url.hostname),
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A connection of its own, never a pooled one made for another address.
        agent: false,
        lookup: pinnedLookup(address, family),
        signal,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          resolve({ status: response.statusCode ?? 0, location: response.headers.location, body: excerpt(Buffer.concat(chunks)) });
        response.on('data', (chunk: Buffer) => {
          if (size < ANSWER_EXCERPT_BYTES) {
            chunks.push(chunk.subarray(0, ANSWER_EXCERPT_BYTES - size));
          }
          size += chunk.length;
          if (size >= ANSWER_EXCERPT_BYTES) {
            response.destroy();
            done();
          }
        });
        response.on('end', done);
        response.on('error', () => done());
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The promise, or a rejection once `signal` fires (the system resolver cannot be cancelled, but need not be waited for). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

function failure(error: unknown, timeoutMs: number): string {
  const name = (error as Error | undefined)?.name;
  if (name === 'AbortError' || name === 'TimeoutError') {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = (error as Error | undefined)?.message ?? String(error);
  return code === undefined ? message.slice(0, 200) : `${message.slice(0, 160)} (${code})`;
}

/**
 * POSTs one signed webhook body. Every hop is admitted by the guard first
 * (its addresses checked after DNS resolution) and connects only to the
 * address admitted; redirects are followed by hand, at most `maxRedirects`,
 * each re-checked, the body and signature sent again as they are. A 2xx
 * answer is delivered; anything else failed (retried later); a target the
 * guard refuses is refused (not retried).
 */
export async function postWebhook(start: URL, body: string, headers: Record<string, string>, options: PostOptions): Promise<AttemptResult> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let url = start;
  for (let hops = 0; ; hops += 1) {
    const target = url.toString();
    let answer: HopAnswer;
    try {
      const decision = await untilAborted(options.guard.admit(url), signal);
      if (decision.kind === 'refused') {
        return { outcome: 'refused', statusCode: null, error: hops === 0 ? decision.reason : `redirected to ${target}: ${decision.reason}`, target };
      }
      if (decision.kind === 'unresolved') {
        return { outcome: 'failed', statusCode: null, error: decision.reason, target };
      }
      answer = await hop(url, decision.address, decision.family, body, headers, signal);
    } catch (error) {
      return { outcome: 'failed', statusCode: null, error: failure(error, options.timeoutMs), target };
    }
    if (answer.status >= 200 && answer.status < 300) {
      return { outcome: 'delivered', statusCode: answer.status, error: null, target };
    }
    if (REDIRECTS.has(answer.status) && answer.location !== undefined) {
      if (hops >= options.maxRedirects) {
        return { outcome: 'failed', statusCode: answer.status, error: `more than ${options.maxRedirects} redirects`, target };
      }
      try {
        url = new URL(answer.location, url);
      } catch {
        return { outcome: 'failed', statusCode: answer.status, error: 'redirected to a URL that does not parse', target };
      }
      continue;
    }
    const said = answer.body.length > 0 ? `: ${answer.body}` : '';
    return { outcome: 'failed', statusCode: answer.status, error: `HTTP ${answer.status}${said}`, target };
  }
}
