import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '@app/config';
import { DomainError } from '@app/domain';
import { apiKeysCommands } from './api-keys.commands.js';
import { auditCommands } from './audit/audit.commands.js';
import { dbCommands } from './db.commands.js';
import { importCommand } from './import/import.command.js';
import { createRuntime } from './runtime.js';
import { syncCommand } from './sync/sync.command.js';

/** `npm run cli -- <command>`: HeloPass administration from the shell. */
async function main(argv: string[]): Promise<void> {
  const runtime = createRuntime();
  const program = new Command('helopass')
    .description('HeloPass command line: API keys and database maintenance')
    .exitOverride()
    .addCommand(apiKeysCommands(runtime))
    .addCommand(dbCommands(runtime))
    .addCommand(syncCommand())
    .addCommand(importCommand(runtime))
    .addCommand(auditCommands(runtime));
  for (const sub of program.commands) {
    sub.exitOverride();
    sub.commands.forEach((leaf) => leaf.exitOverride());
  }
  await program.parseAsync(argv);
}

/**
 * The exit statuses the README documents: 0 done; 1 could not be done (the
 * database unreachable, an unexpected error); 2 bad command line or input
 * (commander's own errors are 1: they become 2 here; `sync` chooses its own
 * the same way); 3 `import` refused some lines, `sync` refused the body.
 * A command that finished sets process.exitCode and lets the process end by itself.
 */
const CLI_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

main(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === CLI_EXIT.ok ? CLI_EXIT.ok : CLI_EXIT.usage);
  }
  const known = error instanceof ConfigError || error instanceof DomainError;
  console.error(`helopass: ${error instanceof Error ? error.message : String(error)}`);
  if (!known && error instanceof Error && error.stack) {
    console.error(error.stack);
  }
  process.exit(known ? CLI_EXIT.usage : CLI_EXIT.failed);
});
