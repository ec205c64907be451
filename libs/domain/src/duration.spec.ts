import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['45s', 45_000],
    ['30m', 30 * 60_000],
    ['12h', 12 * 3_600_000],
    ['90d', 90 * 86_400_000],
    ['1d', 86_400_000],
    ['0s', 0],
    ['999999s', 999_999_000],
    ['007m', 7 * 60_000],
  ])('%j -> %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('ignores surrounding whitespace', () => {
    expect(parseDuration(' 7d ')).toBe(7 * 86_400_000);
    expect(parseDuration('\t2h\n')).toBe(2 * 3_600_000);
  });

  it.each([
    '',
    'd',
    '90',
    '90 d',
    '90D',
    '1.5h',
    '-1d',
    '+1d',
    '1w',
    '1y',
    '1ms',
    '1d2h',
    'P90D',
    '1000000s',
    'ninety days',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
