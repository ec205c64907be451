import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readKeyFile } from './key-file.js';

describe('--key-file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'helopass-key-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the key without the whitespace around it, and says whether every user may read the file', () => {
    const privateFile = join(dir, 'private.key');
    writeFileSync(privateFile, '  hp_privateKey0123456789\r\n', { mode: 0o600 });
    expect(readKeyFile(privateFile)).toEqual({ key: 'hp_privateKey0123456789', othersCanRead: false });
    const shared = join(dir, 'shared.key');
    writeFileSync(shared, 'hp_sharedKey\n', { mode: 0o644 });
    expect(readKeyFile(shared)).toEqual({ key: 'hp_sharedKey', othersCanRead: true });
  });

  it('refuses what is not a key file, naming it, never echoing its content', () => {
    expect(() => readKeyFile(join(dir, 'absent.key'))).toThrow(`cannot read --key-file ${join(dir, 'absent.key')}: ENOENT`);
    expect(() => readKeyFile(dir)).toThrow(`--key-file ${dir} is not a file`);
    const large = join(dir, 'large.key');
    writeFileSync(large, 'hp_secretish'.repeat(400), { mode: 0o600 });
    expect(() => readKeyFile(large)).toThrow(/^--key-file .*large\.key holds 4800 bytes; a key file holds one API key$/);
  });
});
