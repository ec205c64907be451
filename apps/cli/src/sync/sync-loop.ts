import { setTimeout as sleep } from 'node:timers/promises';
import type { SyncOutcome } from './sync-agent.js';

export const MAX_BACKOFF_MS = 10 * 60_000;

/**
 * The wait before the next sync: the interval after a success; after the
 * n-th failure in a row, interval × 2^(n−1), capped at ten minutes (or at the
 * interval, if that is longer), then shortened by up to 20 % at random so
 * that many mail hosts failing together do not retry in step.
 */
export function nextDelay(intervalMs: number, consecutiveFailures: number, random: () => number = Math.random): number {
  if (consecutiveFailures <= 0) {
    return intervalMs;
  }
  const cap = Math.max(MAX_BACKOFF_MS, intervalMs);
  const exponential = Math.min(cap, intervalMs * 2 ** Math.min(consecutiveFailures - 1, 30));
  return Math.round(exponential * (1 - 0.2 * random()));
}

export interface SyncLoop {
  sync(stop: AbortSignal): Promise<SyncOutcome>;
  report(outcome: SyncOutcome): void;
}

/** Syncs, waits, syncs again, until `stop` is aborted (SIGINT/SIGTERM); the wait ends at once on stop. */
export async function runSyncLoop(loop: SyncLoop, intervalMs: number, stop: AbortSignal, random: () => number = Math.random): Promise<void> {
  let failures = 0;
  while (!stop.aborted) {
    const outcome = await loop.sync(stop);
    if (stop.aborted && outcome.status === 'error') {
      return; // cut short by the stop itself: nothing to report
    }
    loop.report(outcome);
    // A refusal is retried like an error: the feed may be fixed, or a replaying middlebox gone.
    failures = outcome.status === 'error' || outcome.status === 'refused' ? failures + 1 : 0;
    try {
      await sleep(nextDelay(intervalMs, failures, random), undefined, { signal: stop });
    } catch {
      return; // aborted while waiting
    }
  }
}
