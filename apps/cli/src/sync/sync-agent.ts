import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { checkFeedBody, FeedBodyError, renderingOf, type FeedBodyInfo } from './feed-body.js';
import { verifyFeedSignature } from './feed-signature.js';
import { runHook, type RunHook } from './run-command.js';
import { loadSyncState, saveSyncState, sha256, type SyncState } from './sync-state.js';

export interface SyncOptions {
  /** a text rendering, e.g. https://helopass.example/v1/allowlist/postfix-cidr */
  url: URL;
  /** a `filter` API key */
  key: string;
  /** the map file to keep up to date */
  file: string;
  /** when given, `<url>.sig` must be a valid signature of the body by this key */
  publicKey?: KeyObject;
  /** run `postmap <file>` after a change (Postfix access(5) maps such as postfix-helo; cidr tables need none) */
  postmap: boolean;
  /** run through the shell after a change (and after postmap), e.g. `postfix reload` */
  reloadCommand?: string;
  /** per HTTP request, body included */
  timeoutMs: number;
}

export interface SyncDependencies {
  fetch: typeof globalThis.fetch;
  runHook: RunHook;
  now: () => Date;
}

export type SyncOutcome =
  | { status: 'changed'; version: string; entries: number; hooks: string[]; stale?: string }
  | { status: 'unchanged'; version?: string; why: 'not modified' | 'same content' | 'same entries'; hooks: string[]; stale?: string }
  /** `replacedWith`: the file was replaced with this version, but postmap or the reload failed */
  | { status: 'error'; reason: string; replacedWith?: string };

class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
}

/** postmap or the reload command failed; both are retried at the next sync. */
class HookFailure extends SyncFailure {}

/** The body and signature can come from two versions when the feed changes between the two GETs; retry the pair. */
const MAX_PAIR_ATTEMPTS = 3;
const USER_AGENT = 'helopass-sync/1';

interface Fetched {
  body: Buffer;
  info: FeedBodyInfo;
  etag?: string;
  lastModified?: string;
  stale?: string;
}

/**
 * One sync of one map file from one feed rendering: conditional GET with the
 * stored validators, checks (header, entry count, signature), atomic replace
 * only when the bytes differ, then postmap and the reload command. Never
 * throws; on any failure the current file stays as it is.
 */
export class SyncAgent {
  private readonly dependencies: SyncDependencies;

  constructor(
    readonly options: SyncOptions,
    dependencies: Partial<SyncDependencies> = {},
  ) {
    this.dependencies = {
      fetch: dependencies.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      runHook: dependencies.runHook ?? runHook,
      now: dependencies.now ?? (() => new Date()),
    };
  }

  async sync(stop?: AbortSignal): Promise<SyncOutcome> {
    try {
      return await this.attempt(stop);
    } catch (error) {
      return { status: 'error', reason: this.redact(describeFailure(error, this.options.timeoutMs)) };
    }
  }

  private async attempt(stop: AbortSignal | undefined): Promise<SyncOutcome> {
    const { file } = this.options;
    const current = await readCurrent(file);
    const stored = await loadSyncState(file);
    // Validators only describe the file if it is still the one the agent wrote, from this URL.
    const trusted = stored !== undefined && current !== undefined && stored.url === this.options.url.href && stored.sha256 === sha256(current);
    const state = trusted ? stored : undefined;

    const fetched = await this.fetchVerified(state, stop);
    if (fetched === 'not modified') {
      const hooks = state!.pendingApply ? await this.applyPending(state!) : [];
      return { status: 'unchanged', version: state!.version, why: 'not modified', hooks };
    }

    const next: SyncState = {
      url: this.options.url.href,
      sha256: sha256(fetched.body),
      etag: fetched.etag,
      lastModified: fetched.lastModified,
      version: fetched.info.version,
      pendingApply: false,
      syncedAt: this.dependencies.now().toISOString(),
    };
    if (current !== undefined && sameEntries(current, fetched.body)) {
      // Every change to the list bumps the version in the header of EVERY rendering, so a
      // grant that adds an address also "changes" the HELO map. Same entries: leave the
      // file, its mtime and the mail filter alone (the header may then name an older version).
      next.sha256 = sha256(current);
      // A first run has never applied the file it found (it may be hand-made, never reloaded): apply it once.
      next.pendingApply = state === undefined ? this.options.postmap || this.options.reloadCommand !== undefined : (state.pendingApply ?? false);
      await saveSyncState(file, next);
      const hooks = next.pendingApply ? await this.applyPending(next) : [];
      const why = current.equals(fetched.body) ? 'same content' : 'same entries';
      return { status: 'unchanged', version: next.version, why, hooks, stale: fetched.stale };
    }

    const hasHooks = this.options.postmap || this.options.reloadCommand !== undefined;
    // Recorded before the rename: a crash between the two still leaves "apply pending" for the new bytes.
    next.pendingApply = hasHooks;
    await saveSyncState(file, next);
    await writeFileAtomic(file, fetched.body);
    let hooks: string[];
    try {
      hooks = hasHooks ? await this.applyPending(next) : [];
    } catch (error) {
      if (error instanceof HookFailure) {
        return { status: 'error', reason: this.redact(error.message), replacedWith: fetched.info.version };
      }
      throw error;
    }
    return { status: 'changed', version: fetched.info.version, entries: fetched.info.entries, hooks, stale: fetched.stale };
  }

  /** postmap, then the reload command; clears `pendingApply` when both succeed, else throws (the reload never follows a failed postmap). */
  private async applyPending(state: SyncState): Promise<string[]> {
    const done: string[] = [];
    const env = { HELOPASS_SYNC_FILE: this.options.file };
    if (this.options.postmap) {
      const result = await this.dependencies.runHook({ program: 'postmap', args: [this.options.file] }, env);
      if (!result.ok) {
        throw new HookFailure(`postmap failed (${result.detail}); the reload is not run; both are retried at the next sync`);
      }
      done.push('postmap');
    }
    if (this.options.reloadCommand !== undefined) {
      const result = await this.dependencies.runHook({ shell: this.options.reloadCommand }, env);
      if (!result.ok) {
        throw new HookFailure(`the reload command failed (${result.detail}); it is retried at the next sync`);
      }
      done.push('reload');
    }
    await saveSyncState(this.options.file, { ...state, pendingApply: false });
    return done;
  }

  private async fetchVerified(state: SyncState | undefined, stop: AbortSignal | undefined): Promise<Fetched | 'not modified'> {
    for (let attempt = 1; ; attempt += 1) {
      const response = await this.get(this.options.url, stop, {
        'accept-encoding': 'gzip',
        ...(state?.etag ? { 'if-none-match': state.etag } : {}),
        ...(state?.lastModified ? { 'if-modified-since': state.lastModified } : {}),
      });
      if (response.status === 304) {
        await response.body?.cancel();
        if (!state) {
          throw new SyncFailure('HTTP 304 to an unconditional request');
        }
        return 'not modified';
      }
      await expectOk(response, 'the feed');
      // fetch has already undone any gzip: these are the exact bytes the server signed.
      const body = Buffer.from(await response.arrayBuffer());
      const info = checkFeedBody(body, renderingOf(this.options.url));
      const fetched: Fetched = {
        body,
        info,
        etag: response.headers.get('etag') ?? undefined,
        lastModified: response.headers.get('last-modified') ?? undefined,
        stale: response.headers.get('x-allowlist-stale-since') ?? undefined,
      };
      if (!this.options.publicKey) {
        return fetched;
      }
      const signatureUrl = new URL(this.options.url);
      signatureUrl.pathname += '.sig';
      const signed = await this.get(signatureUrl, stop, { accept: 'application/octet-stream' });
      const signatureEtag = signed.headers.get('etag');
      // The server tags a signature `"<body tag>.sig"`: a different tag means the feed moved on in between.
      const sameVersion = !fetched.etag || !signatureEtag || signatureEtag === `${fetched.etag.slice(0, -1)}.sig"`;
      if (!sameVersion && attempt < MAX_PAIR_ATTEMPTS) {
        await signed.body?.cancel();
        continue;
      }
      await expectOk(signed, 'the signature');
      const signature = Buffer.from(await signed.arrayBuffer());
      if (!verifyFeedSignature(body, signature, this.options.publicKey)) {
        throw new SyncFailure(
          signature.length === 64 ? 'bad signature: the body is not signed by the given --public-key' : `bad signature: ${signature.length} bytes, not 64`,
        );
      }
      return fetched;
    }
  }

  private async get(url: URL, stop: AbortSignal | undefined, headers: Record<string, string>): Promise<Response> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    return this.dependencies.fetch(url, {
      headers: { authorization: `Bearer ${this.options.key}`, 'user-agent': USER_AGENT, ...headers },
      // A redirect elsewhere would drop (or leak) the key; the operator should give the final URL.
      redirect: 'manual',
      signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
    });
  }

  /** The key must never reach a log, whatever a server or library puts into a message. */
  private redact(text: string): string {
    return this.options.key.length > 0 ? text.split(this.options.key).join('[key]') : text;
  }
}

/** Whether two map files hold the same entry lines in the same order (comments aside). */
function sameEntries(a: Buffer, b: Buffer): boolean {
  const entries = (bytes: Buffer) => bytes.toString('utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  const left = entries(a);
  const right = entries(b);
  return left.length === right.length && left.every((line, index) => line === right[index]);
}

async function readCurrent(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new SyncFailure(`cannot read the current file: ${(error as Error).message}`);
  }
}

async function expectOk(response: Response, what: string): Promise<void> {
  if (response.status === 200) {
    return;
  }
  let detail = '';
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    detail = location ? ` to ${location}; give the final URL` : '';
  } else if ((response.headers.get('content-type') ?? '').includes('json')) {
    const problem = (await response.json().catch(() => ({}))) as { title?: unknown; detail?: unknown };
    const said = [problem.title, problem.detail].filter((part) => typeof part === 'string' && part !== '').join(': ');
    detail = said ? ` (${said.slice(0, 200)})` : '';
  }
  await response.body?.cancel().catch(() => undefined);
  const hint = response.status === 401 ? ', the key was refused' : response.status === 403 ? ', the key may not read the feed' : '';
  throw new SyncFailure(`${what} answered HTTP ${response.status}${hint}${detail}`);
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof SyncFailure || error instanceof FeedBodyError) {
    return error instanceof FeedBodyError ? `refused: ${error.message}` : error.message;
  }
  if (!(error instanceof Error)) {
    return String(error);
  }
  if (error.name === 'TimeoutError') {
    return `no complete answer within ${timeoutMs / 1000}s`;
  }
  if (error.name === 'AbortError') {
    return 'stopped';
  }
  // fetch reports network failures as TypeError('fetch failed') with the system error as its cause.
  const cause = error.cause as (Error & { code?: string; errors?: Array<{ code?: string; message?: string }> }) | undefined;
  if (cause) {
    const code = cause.code ?? cause.errors?.[0]?.code;
    const message = cause.message || cause.errors?.[0]?.message || '';
    return `cannot reach the feed: ${[code, message].filter(Boolean).join(' ')}`.trim();
  }
  return error.message;
}

/** The one log line per sync (stderr). */
export function describeOutcome(outcome: SyncOutcome, file: string): string {
  const stale = 'stale' in outcome && outcome.stale ? `; the server serves a stale snapshot (database unreachable since ${outcome.stale})` : '';
  const hooks = 'hooks' in outcome && outcome.hooks.length > 0 ? `; ran ${outcome.hooks.join(', ')}` : '';
  switch (outcome.status) {
    case 'changed':
      return `changed ${file}: version ${outcome.version}, ${outcome.entries} ${outcome.entries === 1 ? 'entry' : 'entries'}${hooks}${stale}`;
    case 'unchanged':
      return `unchanged ${file}${outcome.version ? `: version ${outcome.version}` : ''} (${outcome.why})${hooks}${stale}`;
    case 'error':
      return outcome.replacedWith !== undefined
        ? `error ${file}: replaced with version ${outcome.replacedWith}, but ${outcome.reason}`
        : `error ${file}: ${outcome.reason}; the current file is kept`;
  }
}
