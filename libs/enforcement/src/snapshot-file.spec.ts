import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@app/config';
import { CheckedFileError } from '@app/database';
import { SnapshotFile, type SavedSnapshot } from './snapshot-file.js';

const entry = (i: number) => ({
  exceptionId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  organizationId: '11111111-1111-4111-8111-111111111111',
  scope: (['pair', 'ip', 'helo'] as const)[i % 3]!,
  heloHostname: `mx${i}.example.com`,
  addresses: i % 3 === 2 ? [] : [`192.0.2.${i % 256}/32`, '2001:db8::/64'],
  startsAt: new Date('2026-11-01T00:00:00.000Z'),
  expiresAt: new Date(Date.UTC(2027, 0, 1, 0, 0, i % 60)),
});

const saved = (count: number): SavedSnapshot => ({
  version: 12_345_678_901n,
  changedAt: new Date('2026-11-30T10:00:00.000Z'),
  savedAt: new Date('2026-11-30T10:00:02.000Z'),
  publicKey: 'cHVibGljLWtleQ==',
  validators: {
    'postfix-cidr': { etag: '"abc"', lastModified: new Date('2026-11-30T10:00:00.000Z'), signature: Buffer.alloc(64, 7) },
  },
  entries: Array.from({ length: count }, (_, i) => entry(i)),
});

describe('SnapshotFile', () => {
  const dirs: string[] = [];
  const file = () => {
    const dir = mkdtempSync(join(tmpdir(), 'helopass-snapshot-spec-'));
    dirs.push(dir);
    return { dir, file: new SnapshotFile(loadConfig({ SNAPSHOT_DIR: dir })) };
  };
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('reads back exactly what it wrote, and leaves no temporary file behind', async () => {
    const { dir, file: snapshots } = file();
    const written = saved(1000);
    await snapshots.write(written);
    expect(await snapshots.read()).toEqual(written);
    expect(readdirSync(dir)).toEqual(['allowlist.snapshot']);
  });

  it('answers undefined when there is no file, and writes nothing with SNAPSHOT_DIR=off', async () => {
    expect(await file().file.read()).toBeUndefined();
    const off = new SnapshotFile(loadConfig({ SNAPSHOT_DIR: 'off' }));
    expect(off.path).toBeNull();
    await off.write(saved(1));
    expect(await off.read()).toBeUndefined();
  });

  it('refuses a file with one bit flipped, a truncated one, one of another format and a foreign one', async () => {
    const { dir, file: snapshots } = file();
    await snapshots.write(saved(200));
    const path = join(dir, 'allowlist.snapshot');
    const good = readFileSync(path);
    const variants: Array<[string, Buffer]> = [
      ['flipped', Buffer.from(good.map((byte, i) => (i === Math.floor(good.length / 2) ? byte ^ 1 : byte)))],
      ['truncated', good.subarray(0, good.length - 100)],
      ['format 2', Buffer.from(good.toString('latin1').replace('allowlist-snapshot 1\n', 'allowlist-snapshot 2\n'), 'latin1')],
      ['foreign', Buffer.from('{"version":"1","entries":[]}\n')],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [name, bytes] of variants) {
      writeFileSync(path, bytes);
      await expect(snapshots.read(), name).rejects.toBeInstanceOf(CheckedFileError);
    }
    writeFileSync(path, good);
    expect((await snapshots.read())?.entries).toHaveLength(200);
  });
});
