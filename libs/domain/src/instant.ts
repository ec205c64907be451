/**
 * Instants as the API takes them: RFC 3339 date-times (what OpenAPI's
 * `format: date-time` names), with an offset, inside the years 0001–9999.
 *
 * JavaScript's `Date` is laxer in both directions: it rolls 2026-02-30 over
 * to March, reads offset-less text in the server's time zone, and holds
 * years up to ±275760, which PostgreSQL's timestamptz cannot take (it has no
 * year 0 and reads no six-digit years). An instant outside these bounds is
 * the caller's mistake, answered 400, never a database error.
 */
export const EARLIEST_INSTANT = new Date('0001-01-01T00:00:00.000Z');
export const LATEST_INSTANT = new Date('9999-12-31T23:59:59.999Z');

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/i;

/** Within the years every part of the product (and PostgreSQL) can hold. */
export function isStorableInstant(date: Date): boolean {
  const time = date.getTime();
  return !Number.isNaN(time) && time >= EARLIEST_INSTANT.getTime() && time <= LATEST_INSTANT.getTime();
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The instant an RFC 3339 date-time names, or undefined when it names none or one out of range. */
export function parseInstant(text: string): Date | undefined {
  const match = RFC3339.exec(text);
  if (match === null) {
    return undefined;
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetHours = match[9] === undefined ? 0 : Number(match[9]);
  const offsetMinutes = match[10] === undefined ? 0 : Number(match[10]);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    return undefined;
  }
  const date = new Date(text.toUpperCase());
  return isStorableInstant(date) ? date : undefined;
}
