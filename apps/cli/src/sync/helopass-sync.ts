import { CommanderError } from 'commander';
import { SYNC_EXIT, syncCommand } from './sync.command.js';

/**
 * `helopass-sync`: the sync agent on its own, for mail hosts. The build
 * bundles this file with everything it imports into dist/helopass-sync.mjs —
 * one file that needs Node.js 20 or newer and nothing else (no repository,
 * no node_modules, no build). Same options and exit statuses as
 * `helopass sync`.
 */
/** Set by the bundler (scripts/bundle-sync-agent.mjs) to the package version. */
declare const HELOPASS_SYNC_VERSION: string | undefined;

const command = syncCommand()
  .name('helopass-sync')
  .version(typeof HELOPASS_SYNC_VERSION === 'string' ? HELOPASS_SYNC_VERSION : 'unbundled')
  .exitOverride();

command.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // --help / --version: 0; a bad command line: 2 (see SyncCommandLine).
    process.exit(error.exitCode);
  }
  process.stderr.write(`helopass-sync: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(SYNC_EXIT.failed);
});
