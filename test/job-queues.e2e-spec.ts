import { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JOB_QUEUE_SCHEMA } from '@app/database';
import { ensureJobQueue } from '@app/worker';
import { unique } from './support/test-app.js';

/** The worker's queues carry a heartbeat, whichever version made them. */
describe('job queues', () => {
  let boss: PgBoss;

  beforeAll(async () => {
    boss = new PgBoss({ connectionString: inject('databaseUrl'), schema: JOB_QUEUE_SCHEMA, supervise: false, schedule: false, createSchema: false });
    boss.on('error', () => undefined);
    await boss.start();
  });
  afterAll(async () => {
    await boss?.stop({ graceful: false });
  });

  it('a queue made without a heartbeat (by an older version) gets it, and follows a changed JOB_HEARTBEAT_SECONDS', async () => {
    const name = unique('helopass-test-queue');
    await boss.createQueue(name, { policy: 'stately' });
    expect((await boss.getQueue(name))?.heartbeatSeconds ?? null).toBeNull();

    await ensureJobQueue(boss, name, 20);
    expect(await boss.getQueue(name)).toMatchObject({ policy: 'stately', heartbeatSeconds: 20 });
    const id = await boss.send(name, {});
    expect((await boss.getJobById(name, id!))?.heartbeatSeconds).toBe(20);

    await ensureJobQueue(boss, name, 45);
    expect((await boss.getQueue(name))?.heartbeatSeconds).toBe(45);
    await boss.deleteQueue(name);
  });
});
