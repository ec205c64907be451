import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';

/**
 * What the agent remembers between runs, next to the map file
 * (`<file>.helopass-sync.json`): the validators for the conditional GET, the
 * digest of the bytes it wrote, and the newest feed version it accepted —
 * the floor below which a body is a replay. The key is never stored.
 */
export interface SyncState {
  url: string;
  /** sha256 (hex) of the map file as the agent last wrote or confirmed it */
  sha256: string;
  etag?: string;
  lastModified?: string;
  /** the feed version last accepted (decimal); a body with an older one is refused */
  version?: string;
  /**
   * The file was replaced but postmap / the reload command has not yet
   * succeeded for it: the next run retries them even when nothing changed.
   */
  pendingApply: boolean;
  syncedAt: string;
}

export const stateFileOf = (file: string) => `${file}.helopass-sync.json`;

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The stored state, or undefined when there is none or it cannot be trusted (then the next GET is unconditional). */
export async function loadSyncState(file: string): Promise<SyncState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFileOf(file), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<SyncState>;
    if (typeof parsed.url !== 'string' || typeof parsed.sha256 !== 'string') {
      return undefined;
    }
    return {
      url: parsed.url,
      sha256: parsed.sha256,
      etag: typeof parsed.etag === 'string' ? parsed.etag : undefined,
      lastModified: typeof parsed.lastModified === 'string' ? parsed.lastModified : undefined,
      version: typeof parsed.version === 'string' && /^\d{1,19}$/.test(parsed.version) ? parsed.version : undefined,
      pendingApply: parsed.pendingApply === true,
      syncedAt: typeof parsed.syncedAt === 'string' ? parsed.syncedAt : '',
    };
  } catch {
    return undefined;
  }
}

export async function saveSyncState(file: string, state: SyncState): Promise<void> {
  await writeFileAtomic(stateFileOf(file), JSON.stringify(state, null, 2) + '\n', { mode: 0o644 });
}
