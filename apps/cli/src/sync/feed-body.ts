import { normalizeHeloHostname, normalizePrefix } from '@app/domain';
import { FeedRefusal } from './feed-refusal.js';
import type { TextRendering } from './feed-url.js';

/**
 * The exact grammar of the text renderings (libs/enforcement/src/render.ts),
 * checked line by line before a body may replace a map file. Postfix and
 * rspamd would load far more than HeloPass ever writes — `0.0.0.0/0 OK`,
 * `REDIRECT`/`FILTER` actions, `if`/`endif` blocks, `!` negations, regular
 * expressions, continuation lines starting with whitespace (access(5),
 * cidr_table(5)) — so anything beyond HeloPass's own lines refuses the body.
 *
 *   body    = header LF *( (comment / entry) LF )
 *   header  = "# HeloPass allowlist " rendering ": version " N ", as of " instant ", " K (" entry" / " entries")
 *   comment = "#" *printable-ASCII
 *   entry   = network [" OK"]     (postfix-cidr with " OK", rspamd-ip bare)
 *           / hostname [" OK"]    (postfix-helo with " OK", rspamd-helo bare)
 *
 * A network is canonical (network address, explicit length, RFC 5952 IPv6)
 * and no wider than HeloPass grants (/16, /32); a hostname is a normalized
 * HELO name; K is the number of entry lines.
 */

export const FEED_HEADER_PREFIX = '# HeloPass allowlist ';

const HEADER =
  /^# HeloPass allowlist ([a-z-]+): version (0|[1-9]\d{0,18}), as of (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z), (0|[1-9]\d{0,9}) (entry|entries)$/;

/** Longer than any line HeloPass writes (a 253-character name + " OK", the header). */
const MAX_LINE_LENGTH = 512;

const ENTRY: Record<TextRendering, { key: 'network' | 'hostname'; action: boolean }> = {
  'postfix-cidr': { key: 'network', action: true },
  'postfix-helo': { key: 'hostname', action: true },
  'rspamd-ip': { key: 'network', action: false },
  'rspamd-helo': { key: 'hostname', action: false },
};

export interface FeedBodyInfo {
  rendering: TextRendering;
  version: string;
  asOf: string;
  entries: number;
}

/** A body outside the grammar; the message names the line, quoted with escapes, never raw bytes. */
export class FeedBodyError extends FeedRefusal {}

/**
 * The first look: is this a HeloPass rendering at all? An HTML page from a
 * captive portal or proxy is named as such, rather than as a bad signature.
 */
export function checkFeedStart(body: Buffer): void {
  if (body.length === 0) {
    throw new FeedBodyError('the body is empty');
  }
  if (!body.subarray(0, FEED_HEADER_PREFIX.length).equals(Buffer.from(FEED_HEADER_PREFIX))) {
    throw new FeedBodyError(`the body does not start with "${FEED_HEADER_PREFIX.trim()}" (not a HeloPass text rendering)`);
  }
}

/** Checks every byte and line of `body` against the grammar of `rendering`; throws FeedBodyError on the first deviation. */
export function checkFeedBody(body: Buffer, rendering: TextRendering): FeedBodyInfo {
  checkFeedStart(body);
  checkBytes(body);
  if (body[body.length - 1] !== 0x0a) {
    throw new FeedBodyError('the body does not end with a newline (truncated?)');
  }
  const lines = body.toString('latin1', 0, body.length - 1).split('\n');
  const header = HEADER.exec(lines[0]!);
  if (!header) {
    throw new FeedBodyError(`line 1 ${excerpt(lines[0]!)} is not a HeloPass header ("# HeloPass allowlist <rendering>: version N, as of <instant>, K entries")`);
  }
  const [, named, version, asOf, count, noun] = header as unknown as [string, string, string, string, string, string];
  if (named !== rendering) {
    throw new FeedBodyError(`the body is the ${named} rendering, not ${rendering}`);
  }
  if (Number.isNaN(Date.parse(asOf)) || new Date(asOf).toISOString() !== asOf) {
    throw new FeedBodyError('line 1: the header\'s "as of" is not a valid instant');
  }
  if ((count === '1') !== (noun === 'entry')) {
    throw new FeedBodyError(`line 1: the header says "${count} ${noun}"`);
  }
  const grammar = ENTRY[rendering];
  let entries = 0;
  for (let index = 1; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (line.length > MAX_LINE_LENGTH) {
      throw new FeedBodyError(`line ${index + 1} is ${line.length} characters long, longer than any line HeloPass writes`);
    }
    if (line.startsWith('#')) {
      continue;
    }
    const problem = entryProblem(line, grammar);
    if (problem !== undefined) {
      throw new FeedBodyError(`line ${index + 1} ${excerpt(line)} ${problem}`);
    }
    entries += 1;
  }
  if (entries !== Number(count)) {
    throw new FeedBodyError(`the header announces ${count} ${noun} but the body holds ${entries} (truncated or tampered with?)`);
  }
  return { rendering, version, asOf, entries };
}

/**
 * The version in the header of a map file the agent wrote earlier, if its
 * first line is a header of `rendering` (a hand-made file has none).
 */
export function headerVersion(file: Buffer, rendering: TextRendering): bigint | undefined {
  const end = file.indexOf(0x0a);
  const header = HEADER.exec(file.toString('latin1', 0, end === -1 ? Math.min(file.length, MAX_LINE_LENGTH) : Math.min(end, MAX_LINE_LENGTH)));
  return header && header[1] === rendering ? BigInt(header[2]!) : undefined;
}

/**
 * Printable ASCII and LF only: no CR (a CRLF body, or a CR hiding a second
 * entry from a reader that splits on it), no NUL, no tab (whitespace that
 * Postfix reads as a separator or a continuation), nothing non-ASCII
 * (hostnames are A-labels).
 */
function checkBytes(body: Buffer): void {
  for (let index = 0; index < body.length; index += 1) {
    const byte = body[index]!;
    if (byte === 0x0a || (byte >= 0x20 && byte <= 0x7e)) {
      continue;
    }
    let line = 1;
    for (let before = body.indexOf(0x0a); before !== -1 && before < index; before = body.indexOf(0x0a, before + 1)) {
      line += 1;
    }
    const what =
      byte === 0x0d ? 'a carriage return (CR)' : byte === 0x00 ? 'a NUL byte' : byte === 0x09 ? 'a tab' : `the byte 0x${byte.toString(16).padStart(2, '0')}`;
    throw new FeedBodyError(`line ${line} holds ${what}; HeloPass writes printable ASCII lines ended by LF only`);
  }
}

function entryProblem(line: string, grammar: { key: 'network' | 'hostname'; action: boolean }): string | undefined {
  const form = `"<${grammar.key}>${grammar.action ? ' OK' : ''}"`;
  if (grammar.action && !line.endsWith(' OK')) {
    return `is not ${form}`;
  }
  const key = grammar.action ? line.slice(0, -' OK'.length) : line;
  if (key === '' || key.includes(' ')) {
    return `is not ${form}`;
  }
  if (grammar.key === 'network') {
    if (!key.includes('/')) {
      return 'is not <network>/<length>';
    }
    try {
      const canonical = normalizePrefix(key).cidr;
      return canonical === key ? undefined : `is not in canonical form (HeloPass writes ${canonical})`;
    } catch (error) {
      return `is not a network HeloPass grants: ${(error as Error).message}`;
    }
  }
  try {
    return normalizeHeloHostname(key) === key ? undefined : 'is not a normalized HELO name (lowercase, no trailing dot)';
  } catch (error) {
    return `is not a HELO name: it ${(error as Error).message}`;
  }
}

/** A line for a log message: quoted, escaped, cut short. */
function excerpt(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
}
