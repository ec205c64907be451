import type { PgBoss } from 'pg-boss';

/**
 * Creates a `stately` queue (at most one job queued and one running, whichever
 * replica runs it) whose jobs carry a heartbeat: a job whose worker died is
 * failed once a heartbeat is missed and retried by another worker, instead of
 * waiting out pg-boss's 15-minute expiry. createQueue leaves an existing
 * queue's options as they were, so the heartbeat is set on it again: a queue
 * made by an older version, or under another JOB_HEARTBEAT_SECONDS, follows.
 */
export async function ensureJobQueue(boss: PgBoss, name: string, heartbeatSeconds: number): Promise<void> {
  await boss.createQueue(name, { policy: 'stately', heartbeatSeconds });
  const queue = await boss.getQueue(name);
  if (queue?.heartbeatSeconds !== heartbeatSeconds) {
    await boss.updateQueue(name, { heartbeatSeconds });
  }
}

/**
 * pg-boss looks for missed heartbeats (and expired jobs) on its monitor pass:
 * every 60 s unless told, which would double the wait for a dead worker's job.
 */
export function jobQueueIntervals(heartbeatSeconds: number): { monitorIntervalSeconds: number; superviseIntervalSeconds: number } {
  const seconds = Math.max(5, Math.floor(heartbeatSeconds / 2));
  return { monitorIntervalSeconds: seconds, superviseIntervalSeconds: seconds };
}
