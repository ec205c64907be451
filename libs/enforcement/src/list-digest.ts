import { createHash } from 'node:crypto';
import { entryDigestText } from './allowlist.repository.js';
import type { AllowlistEntry } from './render.js';

/** Entries hashed between two turns of the event loop (a few milliseconds' work). */
const CHUNK = 5000;

/**
 * The digest AllowlistRepository.digest() computes in SQL, computed over
 * memory: how many candidates are in effect at `now` or later, and the sum of
 * the first 32 bits of each one's MD5 (MD5 as a checksum, not for security).
 * Works in chunks so a million entries never hold up the event loop; answers
 * undefined when `cancelled()` says the list moved meanwhile.
 */
export async function localDigest(
  entries: Iterable<AllowlistEntry>,
  now: Date,
  cancelled: () => boolean,
): Promise<{ count: number; sum: bigint } | undefined> {
  let count = 0;
  let sum = 0;
  let inChunk = 0;
  // A copy: the index may change between chunks (then the result is dropped anyway).
  for (const entry of [...entries]) {
    if (entry.expiresAt > now) {
      count++;
      sum += createHash('md5').update(entryDigestText(entry)).digest().readUInt32BE(0);
    }
    if (++inChunk === CHUNK) {
      inChunk = 0;
      await new Promise((resolve) => setImmediate(resolve));
      if (cancelled()) {
        return undefined;
      }
    }
  }
  return { count, sum: BigInt(sum) };
}
