import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A key file holds one API key (about 50 characters) and perhaps a newline; anything much larger is not one. */
const MAX_KEY_FILE_BYTES = 4096;

export interface KeyFile {
  key: string;
  /** the file's mode lets every user of the host read it */
  othersCanRead: boolean;
}

/**
 * `--key-file`: the filter key from a file (`/etc/helopass/sync.key`, 0600),
 * so that it stands on no command line (`ps`, cron mail) and in no
 * environment variable. Surrounding whitespace (the newline an editor adds)
 * is dropped.
 */
export function readKeyFile(path: string): KeyFile {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch (error) {
    throw new Error(`cannot read --key-file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) {
      throw new Error(`--key-file ${path} is not a file`);
    }
    if (stats.size > MAX_KEY_FILE_BYTES) {
      throw new Error(`--key-file ${path} holds ${stats.size} bytes; a key file holds one API key`);
    }
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const length = readSync(descriptor, buffer, 0, buffer.length, 0);
    if (length > MAX_KEY_FILE_BYTES) {
      throw new Error(`--key-file ${path} holds more than ${MAX_KEY_FILE_BYTES} bytes; a key file holds one API key`);
    }
    return { key: buffer.subarray(0, length).toString('utf8').trim(), othersCanRead: (stats.mode & 0o004) !== 0 };
  } finally {
    closeSync(descriptor);
  }
}
