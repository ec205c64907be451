import type { KeyObject } from 'node:crypto';
import { readKeyFile } from './key-file.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '@app/domain';
import { parseFeedPublicKeys } from './feed-signature.js';
import { parseFeedUrl, type FeedUrl } from './feed-url.js';
import { DEFAULT_HOOK_TIMEOUT_MS } from './run-command.js';
import { describeOutcome, SyncAgent, type SyncDependencies, type SyncOutcome } from './sync-agent.js';
import { runSyncLoop } from './sync-loop.js';

interface SyncCommandOptions {
  url: string;
  key?: string;
  keyFile?: string;
  out: string;
  publicKey?: string[];
  unsigned?: boolean;
  allowHttp?: boolean;
  maxBytes: number;
  allowRollback?: boolean;
  postmap?: boolean;
  reloadCmd?: string;
  hookTimeout: number;
  interval?: number;
  once?: boolean;
  timeout: number;
}

export interface SyncCommandDependencies extends SyncDependencies {
  /** one line per sync; stderr by default */
  log: (line: string) => void;
}

/** Exit statuses of `sync --once` (and of a sync that cannot start). */
export const SYNC_EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000) {
    throw new InvalidArgumentError('use a duration of at least 1s, such as 30s, 5m or 1h');
  }
  return ms;
}

/** `65536`, `512k`, `64M`, `1G` (powers of 1024), between 1k and 1G. */
export function parseByteSize(text: string): number {
  const match = /^(\d{1,10})([kmg]?)$/i.exec(text.trim());
  const bytes = match ? Number(match[1]) * 1024 ** ['', 'k', 'm', 'g'].indexOf(match[2]!.toLowerCase()) : NaN;
  if (!(bytes >= 1024 && bytes <= 1024 ** 3)) {
    throw new InvalidArgumentError('use a size between 1k and 1G, such as 64M');
  }
  return bytes;
}

const defaultLog = (line: string) => process.stderr.write(`${new Date().toISOString()} helopass sync: ${line}\n`);

/** Every command-line error of `sync` exits 2 (commander's own default is 1, which `sync` uses for "could not sync"). */
class SyncCommandLine extends Command {
  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    return super.error(message, { ...errorOptions, exitCode: SYNC_EXIT.usage });
  }
}

/**
 * `sync`: keeps one Postfix or rspamd map file in step with one rendering of
 * the allowlist feed, on the mail host, trusting nothing it downloads. See
 * DESIGN.md, "The allowlist feed", and the README, "Hooking up a mail host".
 */
export function syncCommand(dependencies: Partial<SyncCommandDependencies> = {}): Command {
  const command = new SyncCommandLine('sync')
    .description('keep a Postfix/rspamd map file in step with the allowlist feed (checked: signature, size, grammar, version; atomic replace, postmap, reload)')
    .requiredOption('--url <url>', 'the feed rendering, e.g. https://helopass.example/v1/allowlist/postfix-cidr')
    .addOption(new Option('--key <key>', 'a filter API key (better: the environment variable or --key-file, kept out of ps)').env('HELOPASS_SYNC_KEY'))
    .option('--key-file <file>', 'read the filter API key from this file, e.g. /etc/helopass/sync.key (mode 0600)')
    .requiredOption('--out <file>', 'the map file to write, e.g. /etc/postfix/helopass-client.cidr')
    .option(
      '--public-key <key>',
      "the feed's Ed25519 public key, obtained out of band (base64 or PEM, or a file holding one or more); repeat it, or list both in the file, to trust the current and the next key during a rotation; required unless --unsigned",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--unsigned', 'run without a public key: bodies are NOT signature-checked (warned on every run)')
    .option('--allow-http', 'allow plain http:// to a host that is not loopback (the key and the list cross the network in clear)')
    .addOption(new Option('--max-bytes <size>', 'the largest body accepted, as received and after gunzip').argParser(parseByteSize).default(DEFAULT_MAX_BYTES, '64M'))
    .option('--allow-rollback', 'accept a body older than the version this host holds (a deliberate roll-back; use with --once)')
    .option('--postmap', 'run "postmap <file>" after a change (for the postfix-helo access(5) map; cidr tables need none)')
    .option('--reload-cmd <command>', 'shell command to run after a change, e.g. "postfix reload"')
    .addOption(
      new Option('--hook-timeout <duration>', 'per postmap / reload command; then its whole process group is ended').argParser(duration).default(DEFAULT_HOOK_TIMEOUT_MS, '2m'),
    )
    .option('--interval <duration>', 'sync every 30s, 5m, …, until SIGINT/SIGTERM (default: sync once)', duration)
    .option('--once', 'sync once and exit, even with --interval (exit status 0 synced or nothing to do, 1 could not sync, 2 bad command line, 3 refused the body)')
    .addOption(new Option('--timeout <duration>', 'per HTTP request').argParser(duration).default(30_000, '30s'))
    .action(async (options: SyncCommandOptions) => {
      const fail = (message: string): never => command.error(`error: ${message}`);
      let feed: FeedUrl;
      try {
        feed = parseFeedUrl(options.url, { allowHttp: options.allowHttp === true });
      } catch (error) {
        return fail((error as Error).message);
      }
      const log = dependencies.log ?? defaultLog;
      if (options.keyFile !== undefined && options.key !== undefined) {
        fail(`give the filter API key one way: HELOPASS_SYNC_KEY, --key-file or --key (got --key-file and ${command.getOptionValueSource('key') === 'env' ? 'HELOPASS_SYNC_KEY' : '--key'})`);
      }
      let key = options.key?.trim() ?? '';
      if (options.keyFile !== undefined) {
        try {
          const read = readKeyFile(options.keyFile);
          key = read.key;
          if (read.othersCanRead) {
            log(`warning: ${options.keyFile} can be read by every user of this host; chmod 600 it`);
          }
        } catch (error) {
          fail((error as Error).message);
        }
      }
      if (key === '') {
        fail(`give the filter API key in HELOPASS_SYNC_KEY or a file named by --key-file${options.keyFile === undefined ? '' : ` (${options.keyFile} is empty)`}`);
      }
      if (!/^[\x21-\x7e]+$/.test(key)) {
        fail('the API key holds characters no API key has (spaces, control or non-ASCII characters)');
      }
      let publicKeys: KeyObject[] | null = null;
      if (options.publicKey !== undefined && options.unsigned) {
        fail('give either --public-key or --unsigned, not both');
      } else if (options.publicKey !== undefined) {
        try {
          publicKeys = options.publicKey.flatMap((value) => parseFeedPublicKeys(value));
        } catch (error) {
          fail((error as Error).message);
        }
      } else if (!options.unsigned) {
        fail(
          "give the feed's public key with --public-key (obtained out of band, see the README), or --unsigned to run without signature checks",
        );
      }
      if (publicKeys === null) {
        log(`warning: --unsigned: bodies are not signature-checked; whoever can answer for ${feed.url.host} can write ${options.out}`);
      }
      if (feed.cleartext) {
        log(`warning: --allow-http: the key and the list cross the network to ${feed.url.host} in clear`);
      }
      const agent = new SyncAgent(
        {
          url: feed.url,
          rendering: feed.rendering,
          key,
          file: options.out,
          publicKeys,
          maxBytes: options.maxBytes,
          allowRollback: options.allowRollback === true,
          postmap: options.postmap === true,
          reloadCommand: options.reloadCmd,
          hookTimeoutMs: options.hookTimeout,
          timeoutMs: options.timeout,
        },
        dependencies,
      );
      const report = (outcome: SyncOutcome) => log(describeOutcome(outcome, options.out));

      if (options.interval === undefined || options.once) {
        const outcome = await agent.sync();
        report(outcome);
        process.exitCode = outcome.status === 'refused' ? SYNC_EXIT.refused : outcome.status === 'error' ? SYNC_EXIT.failed : SYNC_EXIT.ok;
        return;
      }

      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        log(`${signal}: stopping`);
        stop.abort();
      };
      // `once`: a second signal finds no handler and ends the process the default way.
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      try {
        log(`syncing ${feed.url.href} into ${options.out} every ${options.interval / 1000}s`);
        await runSyncLoop({ sync: (signal) => agent.sync(signal), report }, options.interval, stop.signal);
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      }
    });
  return command;
}
