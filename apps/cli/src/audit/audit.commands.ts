import { createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AuditCheckpointService, AuditExportService, AuditLog, type AuditEventQuery } from '@app/database';
import { normalizeOwner, type SignedAuditCheckpoint } from '@app/domain';
import type { CliRuntime } from '../runtime.js';
import { checkpointSignedBy, lastCheckpoint, verifyExportFile } from './offline-verify.js';

/** The trail did not verify (the README's exit statuses: 3, like a refused import). */
const NOT_VERIFIED = 3;

function instant(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d\d-\d\d/.test(value)) {
    throw new InvalidArgumentError('an ISO-8601 instant, e.g. 2026-12-01T00:00:00Z');
  }
  return date;
}

/** A public key given as base64 or PEM, or a file holding one. */
function publicKeyArgument(value: string): string {
  try {
    return readFileSync(value, 'utf8').trim();
  } catch {
    return value.trim();
  }
}

/** A progress line on a terminal only (never into a pipe or a log). */
function progress(): (fraction: number) => void {
  if (!process.stderr.isTTY) {
    return () => undefined;
  }
  return (fraction) => {
    const width = 30;
    const filled = Math.round(fraction * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`);
    if (fraction >= 1) {
      process.stderr.write('\n');
    }
  };
}

/** `audit export` and `audit verify`: the trail as a file, and its proof with or without the service. */
export function auditCommands(runtime: CliRuntime): Command {
  const command = new Command('audit').description('the audit trail: export it, verify it (online or from a file)');
  command
    .command('export')
    .description('write the trail (oldest first, with position, prevHash and hash) as NDJSON or CSV')
    .addOption(new Option('--format <format>', 'ndjson or csv').choices(['ndjson', 'csv']).default('ndjson'))
    .option('--out <file>', 'write here instead of standard output')
    .option('--organization-id <uuid>')
    .option('--entity-type <type>')
    .option('--entity-id <uuid>')
    .option('--actor-owner <owner>')
    .option('--action <action>', 'an action, or all of a kind: exception.')
    .option('--q <words>', 'words in a reason or justification')
    .option('--from <instant>', 'events at or after', instant)
    .option('--to <instant>', 'events before', instant)
    .action(async (options: Record<string, string | Date | undefined>) => {
      const filter: AuditEventQuery = {
        organizationId: options.organizationId as string | undefined,
        entityType: options.entityType as string | undefined,
        entityId: options.entityId as string | undefined,
        actorOwner: options.actorOwner === undefined ? undefined : normalizeOwner(options.actorOwner as string),
        action: options.action as string | undefined,
        q: options.q as string | undefined,
        from: options.from as Date | undefined,
        to: options.to as Date | undefined,
      };
      await runtime.withApp(async (app) => {
        const lines = Readable.from(app.get(AuditExportService).lines(filter, options.format as 'ndjson' | 'csv'));
        await pipeline(lines, options.out === undefined ? process.stdout : createWriteStream(options.out as string, { flags: 'wx' }));
      });
    });
  command
    .command('verify')
    .description('verify the chain: an export file offline (--file), or the database; against a checkpoint kept elsewhere (--checkpoint)')
    .option('--file <export.ndjson>', 'an NDJSON export: verified from the file alone')
    .option('--checkpoint <file>', 'a checkpoint (the last line of a file of them, as AUDIT_CHECKPOINT_FILE keeps them)')
    .option('--public-key <key-or-file>', 'the audit public key to trust (base64 or PEM); default: the one inside the checkpoint', publicKeyArgument)
    .action(async (options: { file?: string; checkpoint?: string; publicKey?: string }) => {
      let checkpoint: SignedAuditCheckpoint | undefined;
      if (options.checkpoint !== undefined) {
        checkpoint = lastCheckpoint(readFileSync(options.checkpoint, 'utf8'));
        if (checkpoint === undefined) {
          throw new InvalidArgumentError('the checkpoint file is empty');
        }
        if (options.publicKey === undefined) {
          runtime.warn('note: trusting the public key inside the checkpoint; pass --public-key to pin the one published');
        }
        if (!checkpointSignedBy(checkpoint, options.publicKey)) {
          runtime.print(`NOT VERIFIED: the checkpoint of ${checkpoint.at} is not signed by that key: it proves nothing`);
          process.exitCode = NOT_VERIFIED;
          return;
        }
      }
      if (options.file !== undefined) {
        const report = await verifyExportFile(options.file, checkpoint, progress());
        if (!report.valid) {
          runtime.print(
            report.brokenEventId !== null || report.problem !== 'tail_truncated'
              ? `NOT VERIFIED: event ${report.brokenEventId ?? '(unreadable)'} on line ${report.brokenAtLine ?? '-'}: ${report.checkpoint ?? report.problem}`
              : `NOT VERIFIED: ${report.checkpoint}`,
          );
          process.exitCode = NOT_VERIFIED;
          return;
        }
        runtime.print(
          `verified: ${report.events} events, last position ${report.lastPosition}, last hash ${report.lastHash}` +
            (report.gaps > 0 ? ` (a filtered export: ${report.gaps} gap(s); each event proves itself)` : '') +
            (report.checkpoint !== null ? `; ${report.checkpoint}` : ''),
        );
        return;
      }
      await runtime.withApp(async (app) => {
        if (checkpoint !== undefined) {
          const found = await app.get(AuditCheckpointService).verifyAgainst(checkpoint, options.publicKey);
          runtime.print(`${found.valid ? 'verified' : 'NOT VERIFIED'} (${found.verdict}): ${found.detail}`);
          process.exitCode = found.valid ? 0 : NOT_VERIFIED;
          return;
        }
        const report = await app.get(AuditLog).verifyChain();
        runtime.print(
          report.valid
            ? `verified: ${report.checked} links, last position ${report.lastPosition}, last hash ${report.lastHash}`
            : `NOT VERIFIED: event ${report.firstBrokenEventId} at position ${report.brokenAtPosition}: ${report.detail}`,
        );
        process.exitCode = report.valid ? 0 : NOT_VERIFIED;
      });
    });
  return command;
}
