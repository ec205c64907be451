import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DomainError, InvalidAddressError, normalizePrefix, NotFoundError, parseDuration } from '@app/domain';
import type { CliRuntime } from '../runtime.js';
import { lineText, startText, summaryText } from './import-report.js';
import { MAP_FORMATS, type ImportRequest, type MapFormat } from './import.types.js';
import { MapImportService } from './map-import.service.js';
import { ProgressBar } from './progress-bar.js';

/** Exit status when some lines were refused (the others were imported). */
export const EXIT_SOME_REFUSED = 3;

/** A bad file or option combination: reported as `helopass: <message>` with exit status 2. */
class ImportInputError extends DomainError {
  override readonly name = 'ImportInputError';
}

interface ImportOptions {
  org: string;
  from: string;
  format: MapFormat;
  dryRun?: boolean;
  reason: string;
  ticketRef?: string;
  justification?: string;
  expiresIn?: number;
  address: string[];
  asKeyName: string;
  json?: boolean;
}

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new InvalidArgumentError('use a duration such as 90d, 12h or 30m');
  }
  return ms;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function between(option: string, value: string | undefined, min: number, max: number): void {
  if (value !== undefined && (value.trim().length < min || value.length > max)) {
    throw new ImportInputError(`${option} must be ${min}–${max} characters`);
  }
}

async function readMap(from: string): Promise<string> {
  if (from === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) {
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(from, 'utf8');
  } catch (error) {
    throw new ImportInputError(`cannot read ${from}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function request(options: ImportOptions, text: string): ImportRequest {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(options.org)) {
    throw new NotFoundError('organization');
  }
  between('--reason', options.reason, 3, 1000);
  between('--justification', options.justification, 10, 2000);
  between('--ticket-ref', options.ticketRef, 1, 100);
  between('--as-key-name', options.asKeyName, 1, 100);
  if (options.format === 'postfix-cidr' && options.address.length > 0) {
    throw new ImportInputError('--address is for postfix-access maps; a cidr_table names its addresses itself');
  }
  if (options.format === 'postfix-access' && options.address.length === 0) {
    throw new ImportInputError(
      'postfix-access: an access map names no addresses, and a mail server needs at least one — give --address <ip or cidr> ' +
        '(repeatable): the address(es) these servers send from. A helo exception still matches the name from any address.',
    );
  }
  const addresses = options.address.map((address) => {
    try {
      return normalizePrefix(address).cidr;
    } catch (error) {
      throw error instanceof InvalidAddressError ? new ImportInputError(`--address ${address} ${error.message}`) : error;
    }
  });
  return {
    organizationId: options.org.toLowerCase(),
    format: options.format,
    source: options.from === '-' ? 'stdin' : basename(options.from),
    text,
    dryRun: options.dryRun === true,
    reason: options.reason,
    ticketRef: options.ticketRef,
    justification: options.justification,
    expiresInMs: options.expiresIn,
    keyName: options.asKeyName,
    addresses: [...new Set(addresses)],
  };
}

/**
 * `import`: a hand-kept Postfix map into mail servers and exceptions, reported
 * line by line on stdout (a progress bar on stderr when it is a terminal).
 */
export function importCommand(runtime: CliRuntime): Command {
  return new Command('import')
    .description('turn a hand-kept Postfix map into mail servers and exceptions, line by line')
    .requiredOption('--org <id>', 'the organization the map is for')
    .requiredOption('--from <file>', 'the map file ("-": standard input)')
    .addOption(
      new Option('--format <format>', 'postfix-cidr (cidr_table for check_client_access) or postfix-access (access map for check_helo_access)')
        .choices([...MAP_FORMATS])
        .makeOptionMandatory(),
    )
    .option('--dry-run', 'report what would be done; write nothing')
    .option('--reason <text>', 'the reason recorded on every exception (the line is appended)', 'imported from a hand-kept Postfix map')
    .option('--ticket-ref <ref>', 'a ticket reference recorded on every exception')
    .option(
      '--justification <text>',
      'grant where ownership is not proven, as overrides that a second admin approves (without it such lines are refused)',
    )
    .option('--expires-in <duration>', 'exception lifetime such as 90d (default: EXCEPTION_DEFAULT_DAYS)', duration)
    .option('--address <cidr>', 'postfix-access: an address or prefix the servers send from (repeatable, required)', collect, [])
    .option('--as-key-name <name>', 'the admin API key the import acts as; created (secret not kept) when none has the name', 'import')
    .option('--json', 'print one JSON object per line: start, each map line, summary')
    .addHelpText(
      'after',
      '\nOnly lines whose result is OK (or PERMIT, or all-numerical) are imported; the rest are refused with the reason.\n' +
        'postfix-cidr lines become ip exceptions on servers named import-<address> (the map names no HELO).\n' +
        'Re-importing a map skips what already has a running exception. Exit status: 0, or 3 when lines were refused.',
    )
    .action(async (options: ImportOptions) => {
      const importRequest = request(options, await readMap(options.from));
      await runtime.withApp(async (app) => {
        const json = options.json === true;
        const emit = (lines: string[]) => lines.forEach((line) => runtime.print(line));
        let progress: ProgressBar | undefined;
        const summary = await app.get(MapImportService).import(importRequest, {
          start: (info) => {
            progress = ProgressBar.onStderr(info.lines);
            emit(json ? [JSON.stringify({ type: 'start', ...info })] : startText(info));
          },
          line: (report) => {
            progress!.tick();
            progress!.print(() => emit(json ? [JSON.stringify({ type: 'line', ...report })] : lineText(report, importRequest.dryRun)));
          },
        });
        progress?.clear();
        emit(json ? [JSON.stringify({ type: 'summary', dryRun: importRequest.dryRun, ...summary })] : summaryText(summary, importRequest.dryRun));
        if (summary.refused > 0) {
          process.exitCode = EXIT_SOME_REFUSED;
        }
      });
    });
}
