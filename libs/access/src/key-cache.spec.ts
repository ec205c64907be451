import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError } from '@app/database';
import { KeyCache } from './key-cache.js';

interface Key {
  prefix: string;
}

/** A key store the test controls: what exists, whether it answers, and how often it was asked. */
function fixture(options: { maxEntries?: number } = {}) {
  const state = {
    keys: new Map<string, Key>(),
    down: false,
    hang: false,
    lookups: 0,
    time: 1_000_000,
  };
  const cache = new KeyCache<Key>(
    async (prefix) => {
      state.lookups += 1;
      if (state.hang) {
        return new Promise<Key | null>(() => undefined);
      }
      if (state.down) {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      }
      return state.keys.get(prefix) ?? null;
    },
    { ttlMs: 60_000, maxEntries: options.maxEntries ?? 100, lookupTimeoutMs: 20, probeIntervalMs: 1000, now: () => state.time },
  );
  return { state, cache };
}

describe('KeyCache', () => {
  it('answers a known key from memory while changes are heard', async () => {
    const { state, cache } = fixture();
    state.keys.set('hp_known01', { prefix: 'hp_known01' });
    expect(await cache.find('hp_known01', true)).toEqual({ prefix: 'hp_known01' });
    expect(await cache.find('hp_known01', true)).toEqual({ prefix: 'hp_known01' });
    expect(state.lookups).toBe(1);
    // Not listening: every lookup asks again.
    await cache.find('hp_known01', false);
    expect(state.lookups).toBe(2);
    // Past the time to live: asks again.
    state.time += 60_000;
    await cache.find('hp_known01', true);
    expect(state.lookups).toBe(3);
  });

  it('remembers unknown prefixes, so the same made-up key reaches the store once', async () => {
    const { state, cache } = fixture();
    for (let i = 0; i < 50; i += 1) {
      expect(await cache.find('hp_nothere', true)).toBeNull();
    }
    expect(state.lookups).toBe(1);
  });

  it('bounds what it remembers of unknown prefixes', async () => {
    const { state, cache } = fixture({ maxEntries: 10 });
    for (let i = 0; i < 500; i += 1) {
      await cache.find(`hp_rand${String(i).padStart(4, '0')}`, true);
    }
    expect(state.lookups).toBe(500);
    expect(cache.unknownCount).toBe(10);
  });

  it('finds a key created after its prefix was remembered as unknown, once told of the creation', async () => {
    const { state, cache } = fixture();
    expect(await cache.find('hp_newkey1', true)).toBeNull();
    state.keys.set('hp_newkey1', { prefix: 'hp_newkey1' });
    cache.forget('hp_newkey1');
    expect(await cache.find('hp_newkey1', true)).toEqual({ prefix: 'hp_newkey1' });

    expect(await cache.find('hp_newkey2', true)).toBeNull();
    state.keys.set('hp_newkey2', { prefix: 'hp_newkey2' });
    cache.clear(); // what a NOTIFY from another process does
    expect(await cache.find('hp_newkey2', true)).toEqual({ prefix: 'hp_newkey2' });
  });

  it('does not trust a remembered "unknown" while changes are not heard', async () => {
    const { state, cache } = fixture();
    expect(await cache.find('hp_newkey3', true)).toBeNull();
    state.keys.set('hp_newkey3', { prefix: 'hp_newkey3' });
    expect(await cache.find('hp_newkey3', false)).toEqual({ prefix: 'hp_newkey3' });
  });

  it('while the store is down: known keys from memory, others fail at once, one probe per interval', async () => {
    const { state, cache } = fixture();
    state.keys.set('hp_known02', { prefix: 'hp_known02' });
    await cache.find('hp_known02', true);
    state.time += 120_000; // older than the time to live: would normally be looked up again
    state.down = true;
    const before = state.lookups;

    expect(await cache.find('hp_known02', false)).toEqual({ prefix: 'hp_known02' });
    expect(state.lookups).toBe(before + 1);
    for (let i = 0; i < 100; i += 1) {
      await expect(cache.find(`hp_flood${String(i).padStart(3, '0')}`, false)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    }
    expect(await cache.find('hp_known02', false)).toEqual({ prefix: 'hp_known02' });
    expect(state.lookups).toBe(before + 1);

    state.time += 1000;
    await expect(cache.find('hp_flood000', false)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(state.lookups).toBe(before + 2);

    state.time += 1000;
    state.down = false;
    state.keys.set('hp_flood001', { prefix: 'hp_flood001' });
    expect(await cache.find('hp_flood001', false)).toEqual({ prefix: 'hp_flood001' });
  });

  it('asks the store again at once, not at the next probe, when told it was reached again', async () => {
    const { state, cache } = fixture();
    state.keys.set('hp_later001', { prefix: 'hp_later001' });
    state.down = true;
    await expect(cache.find('hp_later001', false)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    state.down = false;
    // Within the probe interval: refused without asking.
    await expect(cache.find('hp_later001', false)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(state.lookups).toBe(1);
    cache.clearAfterReconnect();
    expect(await cache.find('hp_later001', true)).toEqual({ prefix: 'hp_later001' });
    expect(state.lookups).toBe(2);
  });

  it('gives up on a store that does not answer, and then stops asking it for a while', async () => {
    const { state, cache } = fixture();
    state.hang = true;
    const failure = await cache.find('hp_hanging', true).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DatabaseUnavailableError);
    expect((failure as DatabaseUnavailableError).reason).toBe('busy');
    await expect(cache.find('hp_hanging', true)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(state.lookups).toBe(1);

    // One probe at a time: while it waits, the others fail at once instead of waiting too.
    state.time += 1000;
    const probe = cache.find('hp_probing', true).catch((error: unknown) => error);
    state.time += 5000;
    await expect(cache.find('hp_waiting', true)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(state.lookups).toBe(2);
    expect(await probe).toBeInstanceOf(DatabaseUnavailableError);
  });

  it('passes on errors that are not about availability', async () => {
    const cache = new KeyCache<Key>(
      async () => {
        throw new Error('relation "api_keys" does not exist');
      },
      { ttlMs: 60_000, maxEntries: 10, lookupTimeoutMs: 1000, probeIntervalMs: 1000 },
    );
    await expect(cache.find('hp_whatever', true)).rejects.toThrow('does not exist');
  });

  it('does not keep what a lookup read before a revocation it overlapped', async () => {
    let release: (key: Key) => void = () => undefined;
    let lookups = 0;
    const cache = new KeyCache<Key>(
      (prefix) => {
        lookups += 1;
        return lookups === 1 ? new Promise<Key>((resolve) => (release = resolve)) : Promise.resolve({ prefix: `${prefix}-revoked` });
      },
      { ttlMs: 60_000, maxEntries: 10, lookupTimeoutMs: 1000, probeIntervalMs: 1000 },
    );
    const pending = cache.find('hp_racing1', true);
    cache.forget('hp_racing1'); // the revocation is announced while the lookup runs
    release({ prefix: 'hp_racing1' });
    await pending;
    expect(await cache.find('hp_racing1', true)).toEqual({ prefix: 'hp_racing1-revoked' });
  });
});
