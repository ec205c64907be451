import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { FeedRefusal } from './feed-refusal.js';

const gunzipAsync = promisify(gunzip);

export interface FeedResponse {
  status: number;
  /** a response header (lower-case name), repeated values joined by ", " */
  header(name: string): string | undefined;
  /** the body as the server meant it: undone from gzip when it came gzip-encoded */
  body: Buffer;
}

export interface CappedGetOptions {
  headers: Record<string, string>;
  /** the most bytes accepted, both as received and after gunzip */
  maxBytes: number;
  signal: AbortSignal;
}

/**
 * One GET whose body can never grow past `maxBytes`: a declared
 * Content-Length over the cap is refused before a byte is read, the bytes on
 * the wire are counted as they come (the download stops at the cap), and a
 * gzip body is inflated with zlib's `maxOutputLength`, so a small body that
 * inflates to gigabytes (a "gzip bomb") stops at the cap too.
 *
 * Plain node:http(s) rather than fetch: fetch inflates gzip by itself and
 * hides how many bytes really came. Redirects are not followed (a redirect
 * elsewhere would drop or leak the key); the caller reports them.
 */
export async function getCapped(url: URL, options: CappedGetOptions): Promise<FeedResponse> {
  const { maxBytes, signal } = options;
  try {
    const response = await open(url, options.headers, signal);
    const header = (name: string): string | undefined => {
      const value = response.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const status = response.statusCode ?? 0;
    const declared = Number(header('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.destroy();
      throw new FeedRefusal(`the body is ${declared} bytes as sent, over the --max-bytes cap of ${maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > maxBytes) {
        response.destroy();
        throw new FeedRefusal(`the body is over the --max-bytes cap of ${maxBytes} bytes as received`);
      }
      chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks, received);
    return { status, header, body: status === 200 ? await decode(raw, header('content-encoding'), maxBytes) : raw };
  } catch (error) {
    // Report the time-out or the stop itself, not the socket error it caused.
    throw signal.aborted ? signal.reason : error;
  }
}

function open(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: 'GET', headers, signal }, resolve);
    request.on('error', reject);
    request.end();
  });
}

/** The agent asks for gzip only; any other coding is refused rather than written as it came. */
async function decode(raw: Buffer, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '') {
    return raw;
  }
  if (coding !== 'gzip' && coding !== 'x-gzip') {
    throw new FeedRefusal(`the body came with Content-Encoding ${JSON.stringify(coding.slice(0, 40))}; only gzip was asked for`);
  }
  try {
    return await gunzipAsync(raw, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FeedRefusal(`the body inflates to more than the --max-bytes cap of ${maxBytes} bytes after gunzip (${raw.length} bytes as received)`);
    }
    throw new FeedRefusal('the gzip body does not inflate (corrupt or truncated)');
  }
}
