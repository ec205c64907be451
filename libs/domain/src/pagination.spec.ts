import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decodeCursor, encodeCursor, toPage } from './pagination.js';

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const encodeRaw = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('page sizes', () => {
  it('has a default within the maximum', () => {
    expect(DEFAULT_PAGE_SIZE).toBe(50);
    expect(MAX_PAGE_SIZE).toBe(200);
    expect(DEFAULT_PAGE_SIZE).toBeLessThanOrEqual(MAX_PAGE_SIZE);
  });
});

describe('encodeCursor / decodeCursor', () => {
  const key = { at: new Date('2024-05-06T07:08:09.123Z'), id: 'a3bb189e-8bf9-3888-9912-ace4e6543002' };

  it('round-trips the sort key', () => {
    const decoded = decodeCursor(encodeCursor(key));
    expect(decoded).toEqual(key);
    expect(decoded?.at).toBeInstanceOf(Date);
    expect(decoded?.at.getTime()).toBe(key.at.getTime());
  });

  it('keeps millisecond precision', () => {
    const at = new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 1));
    expect(decodeCursor(encodeCursor({ at, id: id(1) }))?.at.getTime()).toBe(at.getTime());
  });

  it('is URL-safe and opaque', () => {
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(encodeURIComponent(cursor)).toBe(cursor);
    expect(cursor).not.toContain(key.id);
  });

  it('gives different cursors for different keys', () => {
    expect(encodeCursor({ at: key.at, id: id(1) })).not.toBe(encodeCursor({ at: key.at, id: id(2) }));
    expect(encodeCursor({ at: new Date(1), id: id(1) })).not.toBe(encodeCursor({ at: new Date(2), id: id(1) }));
  });

  it.each([
    ['the empty string', ''],
    ['plain text', 'not-a-cursor'],
    ['characters outside base64url', '!!!???'],
    ['base64url of non-JSON', Buffer.from('hello').toString('base64url')],
    ['a JSON object', encodeRaw({ at: '2024-01-01T00:00:00.000Z', id: id(1) })],
    ['a JSON string', encodeRaw('2024-01-01T00:00:00.000Z')],
    ['JSON null', encodeRaw(null)],
    ['an empty array', encodeRaw([])],
    ['a one-item array', encodeRaw(['2024-01-01T00:00:00.000Z'])],
    ['a three-item array', encodeRaw(['2024-01-01T00:00:00.000Z', id(1), 'x'])],
    ['an invalid date', encodeRaw(['not a date', id(1)])],
    ['a numeric date', encodeRaw([1_700_000_000_000, id(1)])],
    ['a null date', encodeRaw([null, id(1)])],
    ['a numeric id', encodeRaw(['2024-01-01T00:00:00.000Z', 42])],
    ['an id that is not a UUID', encodeRaw(['2024-01-01T00:00:00.000Z', 'abc'])],
    ['an id with SQL in it', encodeRaw(['2024-01-01T00:00:00.000Z', "x' OR 1=1 --0000000000000000000000"])],
    ['an upper-case UUID', encodeRaw(['2024-01-01T00:00:00.000Z', 'A3BB189E-8BF9-3888-9912-ACE4E6543002'])],
    ['a UUID of dashes', encodeRaw(['2024-01-01T00:00:00.000Z', '------------------------------------'])],
    ["JavaScript's largest date (PostgreSQL reads no six-digit year)", encodeRaw(['+275760-09-13T00:00:00.000Z', id(1)])],
    ["JavaScript's smallest date", encodeRaw(['-271821-04-20T00:00:00.000Z', id(1)])],
    ['year 0 (PostgreSQL has none)', encodeRaw(['0000-01-01T00:00:00.000Z', id(1)])],
    ['a date without a time', encodeRaw(['2024-01-01', id(1)])],
    ['a date Date would roll over', encodeRaw(['2024-02-30T00:00:00.000Z', id(1)])],
    ['a date in another spelling than ours', encodeRaw(['2024-01-01T01:00:00+01:00', id(1)])],
    ['JSON with extra spaces', Buffer.from(`[ "2024-01-01T00:00:00.000Z", "${id(1)}" ]`).toString('base64url')],
    ['padding', encodeCursor({ at: new Date('2024-01-01T00:00:00.000Z'), id: id(1) }) + '=='],
    ['a character base64url skips', encodeCursor({ at: new Date('2024-01-01T00:00:00.000Z'), id: id(1) }).replace(/^(.{4})/, '$1%')],
    ['standard base64 instead of base64url', Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', 'fbfbfbfb-fbfb-4fbf-bfbf-fbfbfbfbfbfb'])).toString('base64')],
  ])('rejects %s', (_what, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});

describe('toPage', () => {
  interface Row {
    id: string;
    createdAt: Date;
    name: string;
  }
  const rows: Row[] = Array.from({ length: 5 }, (_, i) => ({
    id: id(i + 1),
    createdAt: new Date(Date.UTC(2024, 0, 1, 0, 0, i)),
    name: `row ${i + 1}`,
  }));
  const map = (row: Row) => ({ name: row.name });
  const keyOf = (row: Row) => ({ at: row.createdAt, id: row.id });

  it('answers no cursor when the rows fit (no extra row fetched)', () => {
    const page = toPage(rows.slice(0, 3), 3, map, keyOf);
    expect(page.items).toEqual([{ name: 'row 1' }, { name: 'row 2' }, { name: 'row 3' }]);
    expect(page.nextCursor).toBeNull();
  });

  it('answers no cursor for fewer rows than the limit', () => {
    expect(toPage(rows.slice(0, 2), 10, map, keyOf)).toEqual({
      items: [{ name: 'row 1' }, { name: 'row 2' }],
      nextCursor: null,
    });
  });

  it('drops the extra row and points the cursor at the last item shown', () => {
    const page = toPage(rows.slice(0, 4), 3, map, keyOf);
    expect(page.items).toHaveLength(3);
    expect(page.items.at(-1)).toEqual({ name: 'row 3' });
    expect(page.nextCursor).not.toBeNull();
    expect(decodeCursor(page.nextCursor!)).toEqual({ at: rows[2]!.createdAt, id: rows[2]!.id });
  });

  it('answers an empty page', () => {
    expect(toPage([], 50, map, keyOf)).toEqual({ items: [], nextCursor: null });
  });

  it('maps every item with the given function, in order', () => {
    const page = toPage(rows, 10, (row) => row.id, keyOf);
    expect(page.items).toEqual(rows.map((row) => row.id));
  });

  it('lets a client walk all rows page by page without repeats or gaps', () => {
    const seen: string[] = [];
    let after: { at: Date; id: string } | undefined;
    for (let guard = 0; guard < 10; guard++) {
      // What a repository would do: rows strictly after the cursor, limit + 1 of them.
      const remaining = rows.filter(
        (row) =>
          after === undefined ||
          row.createdAt.getTime() > after.at.getTime() ||
          (row.createdAt.getTime() === after.at.getTime() && row.id > after.id),
      );
      const page = toPage(remaining.slice(0, 2 + 1), 2, (row) => row.id, keyOf);
      seen.push(...page.items);
      if (page.nextCursor === null) {
        break;
      }
      after = decodeCursor(page.nextCursor);
      expect(after).toBeDefined();
    }
    expect(seen).toEqual(rows.map((row) => row.id));
  });
});
