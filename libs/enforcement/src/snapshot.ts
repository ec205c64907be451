import { AllowlistIndex } from './allowlist-index.js';
import { inEffectAt, renderHead, RENDERINGS, type AllowlistEntry, type Rendering } from './render.js';

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

export type TextRendering = Exclude<Rendering, 'json'>;

export interface Snapshot {
  version: bigint;
  /** When the version began (the database's clock). */
  changedAt: Date;
  asOf: Date;
  /**
   * Every text rendering; the JSON one only once asked for (SnapshotStore.rendering()):
   * it is about ten times the size of the others and rarely polled.
   */
  renderings: Record<TextRendering, PreparedBody> & { json?: PreparedBody };
  nextTransition: Date | null;
}

export const CONTENT_TYPES: Record<Rendering, string> = {
  json: 'application/json; charset=utf-8',
  'postfix-cidr': 'text/plain; charset=utf-8',
  'postfix-helo': 'text/plain; charset=utf-8',
  'rspamd-ip': 'text/plain; charset=utf-8',
  'rspamd-helo': 'text/plain; charset=utf-8',
};

/** What signs a body: synchronously, and (for large bodies, off the event loop) asynchronously. */
export interface BodySigner {
  sign(body: Buffer): Buffer;
  signInBackground?(body: Buffer): Promise<Buffer>;
}

/** Bodies up to this size are signed at once; larger ones in libuv's thread pool (Ed25519 hashes the body twice). */
const SIGN_INLINE_BYTES = 256 * 1024;

function signBody(signer: BodySigner, body: Buffer): Buffer | Promise<Buffer> {
  if (body.length <= SIGN_INLINE_BYTES || signer.signInBackground === undefined) {
    return signer.sign(body);
  }
  return signer.signInBackground(body);
}

const ceilSecond = (date: Date) => new Date(Math.ceil(date.getTime() / 1000) * 1000);

/**
 * Renders the index as it stands at `now`. `asOf` is the later of the
 * version's time and the last start/expiry passed, so two processes with the
 * same data render the same bytes. Last-Modified grows with every change of a
 * body, by at least a second (rspamd reloads a map only when Last-Modified is
 * newer): max(asOf, previous + 1 s). Only the blocks a change touched are
 * rendered and compressed again; small bodies are signed at once (so the
 * returned promise settles in the same turn), large ones off the event loop.
 */
export function renderSnapshot(
  index: AllowlistIndex,
  version: bigint,
  changedAt: Date,
  now: Date,
  previous: Snapshot | undefined,
  signer: BodySigner,
  options: { json: boolean } = { json: false },
): Snapshot | Promise<Snapshot> {
  index.advance(now);
  const transition = index.lastTransition();
  const asOf = transition && transition > changedAt ? transition : changedAt;
  const renderings = {} as Snapshot['renderings'];
  const pendingSignatures: Promise<void>[] = [];
  for (const rendering of RENDERINGS) {
    if (rendering === 'json' && !options.json) {
      continue;
    }
    const prepared = renderBody(index, rendering, version, asOf, previous?.renderings[rendering], signer);
    if (prepared instanceof Promise) {
      pendingSignatures.push(prepared.then((value) => void (renderings[rendering] = value)));
    } else {
      renderings[rendering] = prepared;
    }
  }
  const snapshot: Snapshot = { version, changedAt, asOf, renderings, nextTransition: index.nextTransition() };
  return pendingSignatures.length === 0 ? snapshot : Promise.all(pendingSignatures).then(() => snapshot);
}

/**
 * One rendering of the index as it stands, for a snapshot's version and
 * instant; `before` is the same rendering's last body (for Last-Modified and
 * to keep an unchanged body's signature).
 */
export function renderBody(
  index: AllowlistIndex,
  rendering: Rendering,
  version: bigint,
  asOf: Date,
  before: PreparedBody | undefined,
  signer: BodySigner,
): PreparedBody | Promise<PreparedBody> {
  const counts = index.counts();
  const count = rendering === 'json' ? counts.entries : rendering.endsWith('helo') ? counts.names : counts.addresses;
  const { head, tail } = renderHead(rendering, { version, asOf }, count);
  const rendered = index.render(rendering, head, tail);
  const etag = `"${rendered.digest}"`;
  let lastModified = ceilSecond(asOf);
  if (before && before.etag === etag) {
    lastModified = before.lastModified;
  } else if (before && lastModified <= before.lastModified) {
    lastModified = new Date(before.lastModified.getTime() + 1000);
  }
  const prepared: PreparedBody = {
    body: rendered.body,
    gzip: rendered.gzip,
    etag,
    lastModified,
    lastModifiedHttp: lastModified.toUTCString(),
    contentType: CONTENT_TYPES[rendering],
    signature: before && before.etag === etag ? before.signature : Buffer.alloc(0),
  };
  if (prepared.signature.length > 0) {
    return prepared;
  }
  const signature = signBody(signer, rendered.body);
  if (signature instanceof Promise) {
    return signature.then((value) => ({ ...prepared, signature: value }));
  }
  return { ...prepared, signature };
}

/**
 * A snapshot built from scratch and signed at once, with the entries in
 * effect (the list as of an instant, for auditors; the reference the
 * incremental store is held to in tests).
 */
export function buildSnapshot(
  candidates: readonly AllowlistEntry[],
  version: bigint,
  changedAt: Date,
  now: Date,
  previous: Snapshot | undefined,
  sign: BodySigner | ((body: Buffer) => Buffer),
): Snapshot & { renderings: Record<Rendering, PreparedBody>; entries: AllowlistEntry[] } {
  const signer: BodySigner = typeof sign === 'function' ? { sign } : { sign: (body) => sign.sign(body) };
  const snapshot = renderSnapshot(new AllowlistIndex(candidates, now), version, changedAt, now, previous, signer, { json: true }) as Snapshot & {
    renderings: Record<Rendering, PreparedBody>;
  };
  return { ...snapshot, entries: candidates.filter((entry) => inEffectAt(entry, now)) };
}
