import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from './notification-delivery.service.js';
import { pinnedLookup } from './webhook-http.js';

describe('retryDelaySeconds', () => {
  it('doubles from the base after each failed attempt, up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((attempt) => retryDelaySeconds(attempt, 30, 21_600))).toEqual([
      30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15_360,
    ]);
    expect(retryDelaySeconds(11, 30, 21_600)).toBe(21_600);
    expect(retryDelaySeconds(40, 30, 21_600)).toBe(21_600);
  });
});

describe('pinnedLookup', () => {
  it('answers the checked address whatever name is asked, in both callback forms', async () => {
    const lookup = pinnedLookup('192.0.2.7', 4) as unknown as (name: string, options: object, callback: (...args: unknown[]) => void) => void;
    const single = await new Promise<unknown[]>((resolve) => lookup('rebind.example.net', {}, (...args) => resolve(args)));
    expect(single).toEqual([null, '192.0.2.7', 4]);
    const all = await new Promise<unknown[]>((resolve) => lookup('anything.else', { all: true }, (...args) => resolve(args)));
    expect(all).toEqual([null, [{ address: '192.0.2.7', family: 4 }]]);
  });
});
