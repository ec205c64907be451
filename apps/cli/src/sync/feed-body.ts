/**
 * What the agent checks in a text rendering before it may replace a map file.
 * Every rendering starts with a header line the server always writes (see
 * libs/allowlist/src/render.ts), so a body without it — an HTML error page
 * from a proxy, a captive portal, a truncated or empty download — is refused.
 */

export const FEED_HEADER_PREFIX = '# HeloPass allowlist ';

const RENDERINGS = ['postfix-cidr', 'postfix-helo', 'rspamd-ip', 'rspamd-helo'] as const;
const HEADER = /^# HeloPass allowlist ([a-z-]+): version (\d+), as of (\S+), (\d+) (?:entry|entries)$/;

export interface FeedBodyInfo {
  rendering: string;
  version: string;
  asOf: string;
  entries: number;
}

export class FeedBodyError extends Error {
  override readonly name = 'FeedBodyError';
}

/** The rendering a feed URL asks for (`…/v1/allowlist/postfix-cidr` → `postfix-cidr`), if it names one. */
export function renderingOf(url: URL): string | undefined {
  const last = url.pathname.split('/').pop() ?? '';
  return (RENDERINGS as readonly string[]).includes(last) ? last : undefined;
}

/**
 * Parses the header line and checks the body against it: the rendering the
 * URL asked for, and as many entry lines as the header announces (a body
 * cut short on a line boundary still has its header).
 */
export function checkFeedBody(body: Buffer, expectedRendering: string | undefined): FeedBodyInfo {
  if (body.length === 0) {
    throw new FeedBodyError('the body is empty');
  }
  if (!body.subarray(0, FEED_HEADER_PREFIX.length).equals(Buffer.from(FEED_HEADER_PREFIX))) {
    throw new FeedBodyError(`the body does not start with "${FEED_HEADER_PREFIX.trim()}" (not a HeloPass text rendering)`);
  }
  const text = body.toString('utf8');
  if (!text.endsWith('\n')) {
    throw new FeedBodyError('the body does not end with a newline (truncated?)');
  }
  const lines = text.slice(0, -1).split('\n');
  const header = HEADER.exec(lines[0]!);
  if (!header) {
    throw new FeedBodyError('the header line is malformed');
  }
  const [, rendering, version, asOf, count] = header as unknown as [string, string, string, string, string];
  if (expectedRendering !== undefined && rendering !== expectedRendering) {
    throw new FeedBodyError(`the body is the ${rendering} rendering, not ${expectedRendering}`);
  }
  const entries = lines.filter((line) => line !== '' && !line.startsWith('#')).length;
  if (entries !== Number(count)) {
    throw new FeedBodyError(`the header announces ${count} entries but the body holds ${entries} (truncated?)`);
  }
  return { rendering, version, asOf, entries };
}
