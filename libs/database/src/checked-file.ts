import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * A file that stands in for the database while it cannot be reached (the
 * last good allowlist, the filter keys' hashes): written so that a reader
 * never sees half of it, and checked so that a damaged or foreign file is
 * refused rather than served.
 *
 * Layout: `HELOPASS <kind> <format>\n`, one line of JSON (the header), the
 * payload bytes, then the SHA-256 (64 hex characters) of everything before.
 */

const DIGEST_HEX = 64;

/** Why a file was refused; the caller logs it as an anomaly and goes on without it. */
export class CheckedFileError extends Error {
  override readonly name = 'CheckedFileError';
}

function magic(kind: string, format: number): string {
  return `HELOPASS ${kind} ${format}\n`;
}

/**
 * Writes atomically: a temporary file next to the target, flushed to disk,
 * renamed over the target, then the directory flushed (so that the rename
 * itself survives a power cut). A crash leaves the old file or the new one.
 */
export async function writeCheckedFile(path: string, kind: string, format: number, header: object, payload: Buffer): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true });
  const head = Buffer.from(magic(kind, format) + JSON.stringify(header) + '\n', 'utf8');
  const digest = Buffer.from(createHash('sha256').update(head).update(payload).digest('hex'), 'ascii');
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writev([head, payload, digest]);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const folder = await open(directory, 'r');
  try {
    await folder.sync();
  } catch {
    // Some file systems cannot flush a directory; the rename is still atomic.
  } finally {
    await folder.close();
  }
}

/**
 * Reads and checks a file written by writeCheckedFile: undefined when there
 * is none; CheckedFileError when it is not one of ours, of another kind or
 * format, or damaged (the digest does not match).
 */
export async function readCheckedFile<H>(path: string, kind: string, format: number): Promise<{ header: H; payload: Buffer } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  const expected = Buffer.from(magic(kind, format), 'utf8');
  if (!bytes.subarray(0, expected.length).equals(expected)) {
    const line = bytes.subarray(0, Math.min(bytes.indexOf(10), 64)).toString('utf8');
    throw new CheckedFileError(`${path} is not a HeloPass ${kind} file of format ${format} (it starts "${line.replace(/[^\x20-\x7e]/g, '?')}")`);
  }
  if (bytes.length < expected.length + DIGEST_HEX) {
    throw new CheckedFileError(`${path} is truncated`);
  }
  const content = bytes.subarray(0, bytes.length - DIGEST_HEX);
  const digest = bytes.subarray(bytes.length - DIGEST_HEX).toString('ascii');
  if (createHash('sha256').update(content).digest('hex') !== digest) {
    throw new CheckedFileError(`${path} is damaged: its SHA-256 does not match its content`);
  }
  const headerEnd = content.indexOf(10, expected.length);
  if (headerEnd < 0) {
    throw new CheckedFileError(`${path} has no header`);
  }
  let header: H;
  try {
    header = JSON.parse(content.subarray(expected.length, headerEnd).toString('utf8')) as H;
  } catch {
    throw new CheckedFileError(`${path} has a header that is not JSON`);
  }
  return { header, payload: content.subarray(headerEnd + 1) };
}
