import { InvalidFieldError } from './errors.js';
import { parseInstant } from './instant.js';

/** One page of a list, as every list route answers it. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/**
 * Keyset cursors: the sort key of the last item of a page, opaque to callers.
 * A cursor names a position, not an offset, so rows added meanwhile never make
 * a page repeat or skip items.
 */
export function encodeCursor(key: { at: Date; id: string }): string {
  return Buffer.from(JSON.stringify([key.at.toISOString(), key.id])).toString('base64url');
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The position a cursor names, or undefined for anything we would not have
 * issued. Only the exact bytes encodeCursor() writes are taken back: Node's
 * base64url decoder skips characters it does not know, and Date reads years
 * PostgreSQL cannot, so "decodes to something" is not enough.
 */
export function decodeCursor(cursor: string): { at: Date; id: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) {
    return undefined;
  }
  const [at, id] = parsed as [unknown, unknown];
  if (typeof at !== 'string' || typeof id !== 'string' || !CANONICAL_UUID.test(id)) {
    return undefined;
  }
  const date = parseInstant(at);
  if (date === undefined) {
    return undefined;
  }
  const position = { at: date, id };
  return encodeCursor(position) === cursor ? position : undefined;
}

/**
 * What every list answers for a `?cursor=` it did not issue (a typo, a cut
 * copy, a forgery): a 400 naming the `cursor` parameter, like any other
 * malformed input. The audit trail's own cursors use it too.
 */
export function unknownCursorError(): InvalidFieldError {
  return new InvalidFieldError('cursor', 'is not one this API issued');
}

/** The position a caller's `?cursor=` names, or undefined for the first page; 400 for a cursor we did not issue. */
export function cursorPosition(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (cursor === undefined) {
    return undefined;
  }
  const position = decodeCursor(cursor);
  if (position === undefined) {
    throw unknownCursorError();
  }
  return position;
}

/** Builds a page from `limit + 1` rows fetched in order: the extra row only says "there is more". */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
  keyOf: (row: Row) => { at: Date; id: string },
): Page<Item> {
  const pageRows = rows.slice(0, limit);
  const last = pageRows.at(-1);
  return {
    items: pageRows.map(map),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}
