import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syncCommand } from './sync.command.js';

/** Where the sync agent's command lines are written down for mail administrators to copy. */
const DOCUMENTS = ['README.md', 'docs/mail-hosts.md', ...systemdUnits('scripts/mailhost/systemd')];

function systemdUnits(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? systemdUnits(join(folder, entry.name)) : entry.name.endsWith('.service') ? [join(folder, entry.name)] : [],
  );
}

/** Every sync command line in a document, shell continuations joined. */
function syncCommandLines(path: string): string[] {
  const text = readFileSync(path, 'utf8').replace(/\\\n\s*/g, ' ');
  return text.split('\n').filter((line) => /(helopass-sync|cli -- sync|main\.js sync) --/.test(line));
}

describe('the documented sync command lines', () => {
  const commands = DOCUMENTS.flatMap((path) => syncCommandLines(path).map((line) => ({ path, line })));
  const known = new Set(syncCommand().options.flatMap((option) => [option.long, option.short]).filter(Boolean));
  known.add('--version');

  it('are found, and run the standalone agent rather than the repository', () => {
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const { path, line } of commands) {
      expect({ path, line, agent: /helopass-sync --/.test(line) }).toMatchObject({ agent: true });
    }
  });

  it('never put the key on the command line: it comes from --key-file or HELOPASS_SYNC_KEY', () => {
    for (const { path, line } of commands) {
      expect({ path, line, keyOnCommandLine: /--key[ =]/.test(line) }).toMatchObject({ keyOnCommandLine: false });
      if (line.includes('--url')) {
        expect({ path, line, keyFrom: /--key-file |HELOPASS_SYNC_KEY/.test(line) }).toMatchObject({ keyFrom: true });
      }
    }
  });

  it('use only options the agent has', () => {
    for (const { path, line } of commands) {
      const options = [...line.replace(/"[^"]*"/g, '').matchAll(/\s(--?[a-z][a-z-]*)/g)].map((match) => match[1]!);
      expect({ path, line, unknown: options.filter((option) => !known.has(option)) }).toMatchObject({ unknown: [] });
    }
  });
});
