import { join } from 'node:path';
import { readCheckedFile, writeCheckedFile } from '@app/database';
import type { ApiKeyRecord } from './api-keys.repository.js';

const KIND = 'filter-keys';
const FORMAT = 1;

interface SavedKey {
  id: string;
  name: string;
  prefix: string;
  /** SHA-256 of the secret (as in the database); the secret itself is never written anywhere. */
  secretHash: string;
  createdAt: string;
  expiresAt: string | null;
}

/**
 * The active `filter` keys — the mail filters that poll the feed — kept next
 * to the allowlist snapshot, hashes only, so that a process started while the
 * database cannot be reached still lets them in. Other roles wait for the
 * database (their work needs it anyway).
 */
export class FilterKeysFile {
  readonly path: string | null;

  constructor(directory: string | null) {
    this.path = directory === null ? null : join(directory, 'filter-keys.snapshot');
  }

  async write(keys: readonly ApiKeyRecord[]): Promise<void> {
    if (this.path === null) {
      return;
    }
    const saved: SavedKey[] = keys.map((key) => ({
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      secretHash: key.secretHash,
      createdAt: key.createdAt.toISOString(),
      expiresAt: key.expiresAt?.toISOString() ?? null,
    }));
    await writeCheckedFile(this.path, KIND, FORMAT, { count: saved.length }, Buffer.from(JSON.stringify(saved), 'utf8'));
  }

  /** The keys written last (none when there is no file); CheckedFileError when the file is refused. */
  async read(): Promise<ApiKeyRecord[]> {
    if (this.path === null) {
      return [];
    }
    const file = await readCheckedFile<{ count: number }>(this.path, KIND, FORMAT);
    if (file === undefined) {
      return [];
    }
    const saved = JSON.parse(file.payload.toString('utf8')) as SavedKey[];
    return saved.map((key) => ({
      id: key.id,
      name: key.name,
      role: 'filter',
      prefix: key.prefix,
      secretHash: key.secretHash,
      createdAt: new Date(key.createdAt),
      lastUsedAt: null,
      expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt),
      revokedAt: null,
      owner: null,
      organizationId: null,
    }));
  }
}
