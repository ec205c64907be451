import type { KeyObject } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '@app/domain';
import { parseFeedPublicKey } from './feed-signature.js';
import { describeOutcome, SyncAgent, type SyncDependencies, type SyncOutcome } from './sync-agent.js';
import { runSyncLoop } from './sync-loop.js';

interface SyncCommandOptions {
  url: string;
  key?: string;
  out: string;
  publicKey?: string;
  postmap?: boolean;
  reloadCmd?: string;
  interval?: number;
  once?: boolean;
  timeout: number;
}

export interface SyncCommandDependencies extends SyncDependencies {
  /** one line per sync; stderr by default */
  log: (line: string) => void;
}

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000) {
    throw new InvalidArgumentError('use a duration of at least 1s, such as 30s, 5m or 1h');
  }
  return ms;
}

const defaultLog = (line: string) => process.stderr.write(`${new Date().toISOString()} helopass sync: ${line}\n`);

/**
 * `sync`: keeps one Postfix or rspamd map file in step with one rendering of
 * the allowlist feed, on the mail host. See DESIGN.md, "The allowlist feed".
 */
export function syncCommand(dependencies: Partial<SyncCommandDependencies> = {}): Command {
  const command = new Command('sync')
    .description('keep a Postfix/rspamd map file in step with the allowlist feed (atomic replace, optional signature check, postmap, reload)')
    .requiredOption('--url <url>', 'the feed rendering, e.g. https://helopass.example/v1/allowlist/postfix-cidr')
    .addOption(new Option('--key <key>', 'a filter API key (better: the environment variable, kept out of ps)').env('HELOPASS_SYNC_KEY'))
    .requiredOption('--out <file>', 'the map file to write, e.g. /etc/postfix/helopass_cidr')
    .option('--public-key <key>', "the feed's Ed25519 public key (base64 or PEM from GET /v1/allowlist/signing-key, or a file holding it); refuse unsigned bodies")
    .option('--postmap', 'run "postmap <file>" after a change (for the postfix-helo access(5) map; cidr tables need none)')
    .option('--reload-cmd <command>', 'shell command to run after a change, e.g. "postfix reload"')
    .option('--interval <duration>', 'sync every 30s, 5m, …, until SIGINT/SIGTERM (default: sync once)', duration)
    .option('--once', 'sync once and exit, even with --interval (exit status 0: changed or unchanged)')
    .addOption(new Option('--timeout <duration>', 'per HTTP request').argParser(duration).default(30_000, '30s'))
    .action(async (options: SyncCommandOptions) => {
      const url = feedUrl(command, options.url);
      const key = options.key?.trim() ?? '';
      if (key === '') {
        command.error('error: give the filter API key in HELOPASS_SYNC_KEY (or --key)');
      }
      if (!/^[\x21-\x7e]+$/.test(key)) {
        command.error('error: the API key holds characters no API key has (spaces, control or non-ASCII characters)');
      }
      let publicKey: KeyObject | undefined;
      if (options.publicKey !== undefined) {
        try {
          publicKey = parseFeedPublicKey(options.publicKey);
        } catch (error) {
          command.error(`error: ${(error as Error).message}`);
        }
      }
      const log = dependencies.log ?? defaultLog;
      const agent = new SyncAgent(
        {
          url,
          key,
          file: options.out,
          publicKey,
          postmap: options.postmap === true,
          reloadCommand: options.reloadCmd,
          timeoutMs: options.timeout,
        },
        dependencies,
      );
      const report = (outcome: SyncOutcome) => log(describeOutcome(outcome, options.out));

      if (options.interval === undefined || options.once) {
        const outcome = await agent.sync();
        report(outcome);
        if (outcome.status === 'error') {
          process.exitCode = 1;
        }
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
        log(`syncing ${url.href} into ${options.out} every ${options.interval / 1000}s`);
        await runSyncLoop({ sync: (signal) => agent.sync(signal), report }, options.interval, stop.signal);
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      }
    });
  return command;
}

/** Parsed here rather than in an option parser, whose error message would echo the value (and a key pasted into it). */
function feedUrl(command: Command, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return command.error('error: --url is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    command.error('error: --url must be an http(s) URL');
  }
  if (url.username !== '' || url.password !== '') {
    command.error('error: --url must not carry credentials; give the key in HELOPASS_SYNC_KEY (or --key)');
  }
  return url;
}
