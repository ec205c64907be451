import { createHash } from 'node:crypto';
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';
import type { Block, SortedBlocks } from './sorted-blocks.js';

/** What one block contributes to a body: its bytes, their raw-deflate form, and a hash for the ETag. */
interface BlockBytes {
  text: Buffer;
  /** Made when first needed (bodies below WHOLE_GZIP_BYTES are compressed whole). */
  deflated: Buffer | undefined;
  digest: Buffer;
  /** The first block of a body may be written differently (JSON: no leading comma). */
  first: boolean;
}

/** A rendered body: the bytes, the same bytes gzipped, and a content hash that equals for equal bytes. */
export interface RenderedBody {
  body: Buffer;
  gzip: Buffer;
  digest: string;
}

/** gzip member header (RFC 1952 §2.3): deflate, no flags, mtime 0, no extra flags, OS unknown — fixed, so equal bodies give equal bytes. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** An empty final block with fixed Huffman codes (RFC 1951 §3.2.3, §3.2.6): ends the deflate stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);
/** Below this a body is gzipped whole (smallest output, and cheap); above, piece by piece from the cached blocks. */
const WHOLE_GZIP_BYTES = 64 * 1024;

/**
 * Deflates one piece so that pieces can be concatenated: each is compressed
 * on its own (no back-references into the previous piece) and ends with a
 * full flush (byte-aligned, not final) — the way pigz builds a gzip stream
 * from independently compressed chunks.
 */
function deflatePiece(text: Buffer): Buffer {
  return deflateRawSync(text, { finishFlush: constants.Z_FULL_FLUSH, level: 6 });
}

/**
 * One rendering of a sorted block list: `line(value)` gives an item's bytes.
 * Bytes, deflated bytes and a hash are cached per block (by block identity),
 * so a change re-renders and re-compresses only the blocks it touched; the
 * body is assembled by copying the rest. A block's text is a view into the
 * body it was last assembled in, so each rendering is held once.
 */
export class BlockRenderer {
  private cache = new WeakMap<Block, BlockBytes>();

  constructor(
    private readonly line: (value: string) => string,
    /** What to drop from the start of the first item's text (JSON's leading comma). */
    private readonly firstPrefix = 0,
  ) {}

  private blockBytes(block: Block, first: boolean): BlockBytes {
    const cached = this.cache.get(block);
    if (cached && cached.first === first) {
      return cached;
    }
    let text = '';
    for (const value of block.values) {
      text += this.line(value);
    }
    if (first && this.firstPrefix > 0) {
      text = text.slice(this.firstPrefix);
    }
    const bytes = Buffer.from(text, 'utf8');
    const made: BlockBytes = {
      text: bytes,
      deflated: undefined,
      digest: createHash('sha256').update(bytes).digest(),
      first,
    };
    this.cache.set(block, made);
    return made;
  }

  /** Blocks not yet rendered (what a build will have to compress). */
  uncached(list: SortedBlocks): number {
    return list.blocks.filter((block) => !this.cache.has(block)).length;
  }

  /**
   * Renders a few blocks ahead of `render()` (to spread a large first build
   * over several turns of the event loop); answers whether all are ready.
   */
  warm(list: SortedBlocks, budgetMs: number): boolean {
    const started = performance.now();
    const blocks = list.blocks;
    for (let i = 0; i < blocks.length; i++) {
      const bytes = this.blockBytes(blocks[i]!, i === 0);
      bytes.deflated ??= deflatePiece(bytes.text);
      if (performance.now() - started > budgetMs) {
        return i === blocks.length - 1;
      }
    }
    return true;
  }

  render(list: SortedBlocks, head: string, tail: string): RenderedBody {
    const headBytes = Buffer.from(head, 'utf8');
    const tailBytes = Buffer.from(tail, 'utf8');
    const pieces = list.blocks.map((block, index) => ({ block, bytes: this.blockBytes(block, index === 0) }));
    const length = headBytes.length + tailBytes.length + pieces.reduce((sum, piece) => sum + piece.bytes.text.length, 0);
    const body = Buffer.allocUnsafe(length);
    const whole = length < WHOLE_GZIP_BYTES;
    const hash = createHash('sha256').update(headBytes);
    let offset = headBytes.copy(body, 0);
    let crc = whole ? 0 : crc32(headBytes);
    const deflated: Buffer[] = [GZIP_HEADER, whole ? Buffer.alloc(0) : deflatePiece(headBytes)];
    for (const { block, bytes } of pieces) {
      const start = offset;
      offset += bytes.text.copy(body, offset);
      hash.update(bytes.digest);
      if (!whole) {
        crc = crc32(bytes.text, crc);
        bytes.deflated ??= deflatePiece(bytes.text);
        deflated.push(bytes.deflated);
      }
      // Held once: the cached text now points into this body; the old copy can go.
      this.cache.set(block, { ...bytes, text: body.subarray(start, offset) });
    }
    tailBytes.copy(body, offset);
    hash.update(tailBytes);
    if (whole) {
      return { body, gzip: gzipSync(body), digest: hash.digest('base64url').slice(0, 32) };
    }
    crc = crc32(tailBytes, crc);
    deflated.push(deflatePiece(tailBytes), FINAL_BLOCK);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(length % 2 ** 32, 4);
    deflated.push(trailer);
    return { body, gzip: Buffer.concat(deflated), digest: hash.digest('base64url').slice(0, 32) };
  }
}
