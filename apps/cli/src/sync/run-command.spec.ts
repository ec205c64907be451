import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runHook } from './run-command.js';

/** Whether `pid` still runs: its /proc entry is gone, or it is a zombie that nobody reaped yet (ended all the same). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) {
    return false;
  }
  // "pid (comm) S …": the state follows the last ")" (comm may hold parentheses).
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

describe('runHook', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helopass-hook-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('on time-out ends the whole process group, not only the shell: a long-running grandchild is gone too', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // The grandchild lets go of stderr, so nothing but the group kill can end it before 600 s.
    const result = await runHook({ shell: `sleep 600 >/dev/null 2>&1 & echo $! > '${pidFile}'; wait` }, {}, { timeoutMs: 1000 });
    expect(result).toEqual({ ok: false, detail: 'timed out after 1s; its process group was ended' });
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(1);
    await expect.poll(() => running(grandchild), { timeout: 5000 }).toBe(false);
  });

  it('ends a grandchild that ignores SIGTERM with SIGKILL once the shell is gone', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const script = `sh -c 'trap "" TERM; echo $$ > "${pidFile}"; while :; do sleep 1; done' >/dev/null 2>&1 & wait`;
    const result = await runHook({ shell: script }, {}, { timeoutMs: 1000 });
    expect(result.detail).toBe('timed out after 1s; its process group was ended');
    const stubborn = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => running(stubborn), { timeout: 5000 }).toBe(false);
  });

  it('reports the exit status and stderr tail, and never passes the feed key on', async () => {
    process.env.HELOPASS_SYNC_KEY = 'hp_should_not_leak';
    try {
      const out = join(dir, 'env');
      expect(await runHook({ shell: `echo "[$HELOPASS_SYNC_KEY][$HELOPASS_SYNC_FILE]" > '${out}'` }, { HELOPASS_SYNC_FILE: '/x' }, { timeoutMs: 5000 })).toEqual({
        ok: true,
        detail: '',
      });
      expect(await readFile(out, 'utf8')).toBe('[][/x]\n');
    } finally {
      delete process.env.HELOPASS_SYNC_KEY;
    }
    expect(await runHook({ shell: 'echo "postmap: fatal: open database" >&2; exit 3' }, {}, { timeoutMs: 5000 })).toEqual({
      ok: false,
      detail: 'exit status 3: postmap: fatal: open database',
    });
    expect(await runHook({ program: 'helopass-no-such-program', args: [] }, {}, { timeoutMs: 5000 })).toEqual({ ok: false, detail: 'not found on PATH' });
  });
});
