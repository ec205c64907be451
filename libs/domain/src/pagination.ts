import { RuleViolationError } from './errors.js';

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

export function decodeCursor(cursor: string): { at: Date; id: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) {
      return undefined;
    }
    const [at, id] = parsed as [unknown, unknown];
    const date = new Date(typeof at === 'string' ? at : NaN);
    if (Number.isNaN(date.getTime()) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) {
      return undefined;
    }
    return { at: date, id };
  } catch {
    return undefined;
  }
}

/** The position a caller's `?cursor=` names, or undefined for the first page; 422 for a cursor we did not issue. */
export function cursorPosition(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (cursor === undefined) {
    return undefined;
  }
  const position = decodeCursor(cursor);
  if (position === undefined) {
    throw new RuleViolationError('cursor is not one this API issued');
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
