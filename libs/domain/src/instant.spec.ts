import { describe, expect, it } from 'vitest';
import { EARLIEST_INSTANT, LATEST_INSTANT, isStorableInstant, parseInstant } from './instant.js';

describe('parseInstant', () => {
  it.each([
    ['2026-12-01T10:20:30Z', '2026-12-01T10:20:30.000Z'],
    ['2026-12-01T10:20:30.123Z', '2026-12-01T10:20:30.123Z'],
    ['2026-12-01T10:20:30.123456789Z', '2026-12-01T10:20:30.123Z'],
    ['2026-12-01t10:20:30z', '2026-12-01T10:20:30.000Z'],
    ['2026-12-01T10:20:30+02:00', '2026-12-01T08:20:30.000Z'],
    ['2026-12-01T10:20:30-12:00', '2026-12-01T22:20:30.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('reads %s', (text, iso) => {
    expect(parseInstant(text)?.toISOString()).toBe(iso);
  });

  it.each([
    ['a date without a time', '2026-12-01'],
    ['a time without an offset (whose time zone?)', '2026-12-01T10:20:30'],
    ['a time without seconds', '2026-12-01T10:20Z'],
    ['a space for the T', '2026-12-01 10:20:30Z'],
    ['February 30th, which Date would roll over to March', '2026-02-30T00:00:00Z'],
    ['February 29th of a common year', '2026-02-29T00:00:00Z'],
    ['February 29th of 1900', '1900-02-29T00:00:00Z'],
    ['April 31st', '2026-04-31T00:00:00Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['hour 24', '2026-12-01T24:00:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['offset hour 24', '2026-12-01T00:00:00+24:00'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['before year 1 once the offset applies', '0001-01-01T00:00:00+01:00'],
    ['past year 9999 once the offset applies', '9999-12-31T23:59:59-01:00'],
    ["JavaScript's largest date", '+275760-09-13T00:00:00Z'],
    ["JavaScript's smallest date", '-271821-04-20T00:00:00Z'],
    ['a five-digit year', '10000-01-01T00:00:00Z'],
    ['a number', '1764547200000'],
    ['words', 'yesterday'],
    ['an HTTP date', 'Tue, 01 Dec 2026 00:00:00 GMT'],
    ['a trailing NUL', '2026-12-01T10:20:30Z\u0000'],
    ['a trailing newline', '2026-12-01T10:20:30Z\n'],
    ['the empty string', ''],
  ])('refuses %s', (_what, text) => {
    expect(parseInstant(text)).toBeUndefined();
  });
});

describe('isStorableInstant', () => {
  it('holds from year 1 to year 9999, bounds included', () => {
    expect(isStorableInstant(EARLIEST_INSTANT)).toBe(true);
    expect(isStorableInstant(LATEST_INSTANT)).toBe(true);
    expect(isStorableInstant(new Date(EARLIEST_INSTANT.getTime() - 1))).toBe(false);
    expect(isStorableInstant(new Date(LATEST_INSTANT.getTime() + 1))).toBe(false);
    expect(isStorableInstant(new Date(8.64e15))).toBe(false);
    expect(isStorableInstant(new Date(NaN))).toBe(false);
  });
});
