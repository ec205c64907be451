import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { CheckedFileError, readCheckedFile, writeCheckedFile } from '@app/database';
import { entryFromTuple, entryToTuple, type EntryTuple } from './entry-tuple.js';
import { RENDERINGS, type AllowlistEntry, type ExceptionScope, type Rendering } from './render.js';

const gzipAsync = promisify(gzip);

const KIND = 'allowlist-snapshot';
/** Bumped whenever the layout below changes: an older or newer file is refused, never misread. */
const FORMAT = 1;
/** Entries serialised per turn of the event loop (a million would block it for a second or more). */
const CHUNK = 20_000;
const SCOPES = new Set<ExceptionScope>(['pair', 'ip', 'helo']);

/** What the feed needs to answer with the same bytes and validators as before: per rendering. */
export interface SavedValidators {
  etag: string;
  lastModified: Date;
  /** Raw Ed25519 signature of the body. */
  signature: Buffer;
}

/** The last good allowlist as kept on disk. */
export interface SavedSnapshot {
  version: bigint;
  changedAt: Date;
  /** When it was written; the process that wrote it was following the database then. */
  savedAt: Date;
  /** The public key that made the signatures (base64), so that a different key re-signs instead of serving them. */
  publicKey: string | null;
  validators: Partial<Record<Rendering, SavedValidators>>;
  /** Every candidate (in effect then or later): the renderings are built from them again, byte for byte. */
  entries: AllowlistEntry[];
}

interface Header {
  version: string;
  changedAt: string;
  savedAt: string;
  publicKey: string | null;
  count: number;
  validators: Partial<Record<Rendering, { etag: string; lastModified: string; signature: string }>>;
}

/** One entry as one line: a compact array (field names would be most of the bytes at a million entries). */

/**
 * The allowlist file under SNAPSHOT_DIR: entries as gzipped NDJSON (compact
 * arrays), the version and each rendering's validators and signature in the
 * header; the renderings themselves are rebuilt from the entries, which gives
 * the same bytes (they depend on the entries, the version and its time only),
 * and so the same ETag, Last-Modified and signature as the process that wrote
 * it. Written atomically and checked by digest and format when read.
 */
@Injectable()
export class SnapshotFile {
  readonly path: string | null;

  constructor(@Inject(HELOPASS_CONFIG) config: HeloPassConfig) {
    this.path = config.snapshot.dir === null ? null : join(config.snapshot.dir, 'allowlist.snapshot');
  }

  async write(snapshot: SavedSnapshot): Promise<void> {
    if (this.path === null) {
      return;
    }
    const chunks: Buffer[] = [];
    for (let start = 0; start < snapshot.entries.length; start += CHUNK) {
      let text = '';
      for (const entry of snapshot.entries.slice(start, start + CHUNK)) {
        text += JSON.stringify(entryToTuple(entry)) + '\n';
      }
      chunks.push(Buffer.from(text, 'utf8'));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const payload = await gzipAsync(Buffer.concat(chunks));
    const validators: Header['validators'] = {};
    for (const [name, saved] of Object.entries(snapshot.validators) as [Rendering, SavedValidators][]) {
      validators[name] = { etag: saved.etag, lastModified: saved.lastModified.toISOString(), signature: saved.signature.toString('base64') };
    }
    const header: Header = {
      version: snapshot.version.toString(),
      changedAt: snapshot.changedAt.toISOString(),
      savedAt: snapshot.savedAt.toISOString(),
      publicKey: snapshot.publicKey,
      count: snapshot.entries.length,
      validators,
    };
    await writeCheckedFile(this.path, KIND, FORMAT, header, payload);
  }

  /** The saved snapshot; undefined when there is none; CheckedFileError when the file is refused. */
  async read(): Promise<SavedSnapshot | undefined> {
    if (this.path === null) {
      return undefined;
    }
    const file = await readCheckedFile<Header>(this.path, KIND, FORMAT);
    if (file === undefined) {
      return undefined;
    }
    return decode(this.path, file.header, file.payload);
  }
}

function decode(path: string, header: Header, payload: Buffer): SavedSnapshot {
  const refuse = (problem: string) => new CheckedFileError(`${path}: ${problem}`);
  const date = (text: unknown, field: string) => {
    const value = typeof text === 'string' ? new Date(text) : new Date(NaN);
    if (Number.isNaN(value.getTime())) throw refuse(`${field} is not a date`);
    return value;
  };
  if (typeof header.version !== 'string' || !/^\d+$/.test(header.version)) {
    throw refuse('the version is not a number');
  }
  const validators: SavedSnapshot['validators'] = {};
  for (const [name, saved] of Object.entries(header.validators ?? {})) {
    if (!(RENDERINGS as readonly string[]).includes(name) || typeof saved?.etag !== 'string' || typeof saved.signature !== 'string') {
      throw refuse(`the validators of ${name} are malformed`);
    }
    validators[name as Rendering] = {
      etag: saved.etag,
      lastModified: date(saved.lastModified, `${name}.lastModified`),
      signature: Buffer.from(saved.signature, 'base64'),
    };
  }
  let text: string;
  try {
    text = gunzipSync(payload).toString('utf8');
  } catch {
    throw refuse('the entries are not gzip');
  }
  // One parse of the whole payload as an array: a million separate JSON.parse calls cost several times more.
  let lines: EntryTuple[];
  try {
    lines = JSON.parse(`[${text.endsWith('\n') ? text.slice(0, -1).replaceAll('\n', ',') : text.replaceAll('\n', ',')}]`) as EntryTuple[];
  } catch {
    throw refuse('the entries are not NDJSON');
  }
  const entries: AllowlistEntry[] = [];
  for (const fields of lines) {
    const [exceptionId, organizationId, scope, heloHostname, addresses, startsAt, expiresAt] = Array.isArray(fields) ? fields : [];
    if (
      typeof exceptionId !== 'string' ||
      typeof organizationId !== 'string' ||
      !SCOPES.has(scope!) ||
      typeof heloHostname !== 'string' ||
      !Array.isArray(addresses) ||
      !addresses.every((address) => typeof address === 'string') ||
      !Number.isFinite(startsAt) ||
      !Number.isFinite(expiresAt)
    ) {
      throw refuse(`entry ${entries.length + 1} is malformed`);
    }
    entries.push(entryFromTuple(fields));
  }
  if (entries.length !== header.count) {
    throw refuse(`it holds ${entries.length} entries where its header says ${header.count}`);
  }
  return {
    version: BigInt(header.version),
    changedAt: date(header.changedAt, 'changedAt'),
    savedAt: date(header.savedAt, 'savedAt'),
    publicKey: typeof header.publicKey === 'string' ? header.publicKey : null,
    validators,
    entries,
  };
}
