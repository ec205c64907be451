import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `data` so that a reader (Postfix, rspamd, postmap)
 * sees either the whole old file or the whole new one, never a part, and a
 * crash or power loss leaves one of the two on disk:
 *
 * 1. write a temporary file in the SAME directory (rename(2) is atomic only
 *    within one file system), created exclusively so nothing else is clobbered;
 * 2. fsync it, so its blocks are on disk before the name points at them;
 * 3. rename it over `path` (POSIX rename(2): atomic replacement);
 * 4. fsync the directory, so the rename itself survives a crash.
 *
 * On any failure the temporary file is removed and `path` is left as it was.
 * The new file keeps the permission bits of the one it replaces (0644 when new).
 */
export async function writeFileAtomic(path: string, data: Buffer | string, options: { mode?: number } = {}): Promise<void> {
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = options.mode ?? (await existingMode(path)) ?? 0o644;
  let written = false;
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.writeFile(data);
      // open(2) applies the umask; the mode asked for is the mode wanted.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    written = true;
    await syncDirectory(directory);
  } finally {
    if (!written) {
      await unlink(temporary).catch(() => undefined);
    }
  }
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on a directory (EINVAL); the rename is done regardless.
    if (!isCode(error, 'EINVAL') && !isCode(error, 'EISDIR')) {
      throw error;
    }
  } finally {
    await handle.close();
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
