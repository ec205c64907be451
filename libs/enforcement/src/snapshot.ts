import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { inEffectAt, lastTransition, nextTransition, renderAll, RENDERINGS, type AllowlistEntry, type Rendering } from './render.js';

/** One rendering, ready to send: bytes, gzip bytes and validators, built once per change. */
export interface PreparedBody {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  /** Whole seconds (HTTP dates have no finer grain). */
  lastModified: Date;
  lastModifiedHttp: string;
  contentType: string;
  /** Raw 64-byte Ed25519 signature of `body`. */
  signature: Buffer;
}

export interface Snapshot {
  version: bigint;
  asOf: Date;
  /** What the store loaded: exceptions in effect now or later (for the timer and rebuilds without the database). */
  candidates: AllowlistEntry[];
  /** Exceptions in effect at `asOf`. */
  entries: AllowlistEntry[];
  renderings: Record<Rendering, PreparedBody>;
  nextTransition: Date | null;
}

const CONTENT_TYPES: Record<Rendering, string> = {
  json: 'application/json; charset=utf-8',
  'postfix-cidr': 'text/plain; charset=utf-8',
  'postfix-helo': 'text/plain; charset=utf-8',
  'rspamd-ip': 'text/plain; charset=utf-8',
  'rspamd-helo': 'text/plain; charset=utf-8',
};

const ceilSecond = (date: Date) => new Date(Math.ceil(date.getTime() / 1000) * 1000);

/**
 * Builds the list as it stands at `now` from the loaded candidates. `asOf` is
 * the later of the version's time and the last start/expiry passed, so two
 * processes with the same data render the same bytes. Last-Modified grows
 * with every change of a body, by at least a second (rspamd reloads a map
 * only when Last-Modified is newer): max(asOf, previous + 1 s).
 */
export function buildSnapshot(
  candidates: AllowlistEntry[],
  version: bigint,
  changedAt: Date,
  now: Date,
  previous: Snapshot | undefined,
  sign: (body: Buffer) => Buffer,
): Snapshot {
  const entries = candidates.filter((entry) => inEffectAt(entry, now));
  const transition = lastTransition(candidates, now);
  const asOf = transition && transition > changedAt ? transition : changedAt;
  const texts = renderAll(entries, { version, asOf });
  const renderings = {} as Record<Rendering, PreparedBody>;
  for (const rendering of RENDERINGS) {
    const body = Buffer.from(texts[rendering], 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
    const before = previous?.renderings[rendering];
    let lastModified = ceilSecond(asOf);
    if (before && before.etag === etag) {
      lastModified = before.lastModified;
    } else if (before && lastModified <= before.lastModified) {
      lastModified = new Date(before.lastModified.getTime() + 1000);
    }
    renderings[rendering] = {
      body,
      gzip: gzipSync(body),
      etag,
      lastModified,
      lastModifiedHttp: lastModified.toUTCString(),
      contentType: CONTENT_TYPES[rendering],
      signature: before && before.etag === etag ? before.signature : sign(body),
    };
  }
  return { version, asOf, candidates, entries, renderings, nextTransition: nextTransition(candidates, now) };
}
