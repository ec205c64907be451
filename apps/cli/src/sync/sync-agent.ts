import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { checkFeedBody, checkFeedStart, headerVersion, type FeedBodyInfo } from './feed-body.js';
import { getCapped, type CappedGetOptions, type FeedResponse } from './feed-http.js';
import { FeedRefusal } from './feed-refusal.js';
import { verifyFeedSignature } from './feed-signature.js';
import type { TextRendering } from './feed-url.js';
import { runHook, type RunHook } from './run-command.js';
import { loadSyncState, saveSyncState, sha256, type SyncState } from './sync-state.js';

export interface SyncOptions {
  /** a text rendering, e.g. https://helopass.example/v1/allowlist/postfix-cidr (checked by parseFeedUrl) */
  url: URL;
  /** the rendering the URL names: the grammar every body must follow */
  rendering: TextRendering;
  /** a `filter` API key */
  key: string;
  /** the map file to keep up to date */
  file: string;
  /**
   * The body must be signed by one of these keys (X-Allowlist-Signature, else
   * `<url>.sig`): one, or two during a key rotation (the current and the next).
   * `null` only when the operator said `--unsigned`.
   */
  publicKeys: readonly KeyObject[] | null;
  /** the most bytes a body may have, as received and after gunzip */
  maxBytes: number;
  /** accept a body whose version is older than the one this host holds (a deliberate roll-back) */
  allowRollback: boolean;
  /** run `postmap <file>` after a change (Postfix access(5) maps such as postfix-helo; cidr tables need none) */
  postmap: boolean;
  /** run through the shell after a change (and after postmap), e.g. `postfix reload` */
  reloadCommand?: string;
  /** per hook (postmap, the reload command); then its whole process group is ended */
  hookTimeoutMs: number;
  /** per HTTP request, body included */
  timeoutMs: number;
}

export interface SyncDependencies {
  get: (url: URL, options: CappedGetOptions) => Promise<FeedResponse>;
  runHook: RunHook;
  now: () => Date;
}

interface Accepted {
  /** `--allow-rollback` let an older version in: the version held before */
  rolledBackFrom?: string;
  /** no signature was checked (`--unsigned`) */
  unsigned?: boolean;
  stale?: string;
}

export type SyncOutcome =
  | ({ status: 'changed'; version: string; entries: number; hooks: string[] } & Accepted)
  | ({ status: 'unchanged'; version?: string; why: 'not modified' | 'same content' | 'same entries'; hooks: string[] } & Accepted)
  /** the body failed a check (size, signature, grammar, version); nothing was written */
  | { status: 'refused'; reason: string }
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
/** Bytes enough for any signature response; a larger one is refused. */
const MAX_SIGNATURE_BYTES = 1024;

interface Fetched {
  body: Buffer;
  info: FeedBodyInfo;
  etag?: string;
  lastModified?: string;
  stale?: string;
}

/**
 * One sync of one map file from one feed rendering: conditional GET with the
 * stored validators, then checks that trust nothing downloaded — size cap
 * (as received and after gunzip), Ed25519 signature by the key given out of
 * band, the rendering's exact grammar, a version not older than the one this
 * host holds — atomic replace only when the entries differ, then postmap and
 * the reload command. Never throws; on any failure or refusal the current
 * file stays as it is. See DESIGN.md, "The allowlist feed".
 */
export class SyncAgent {
  private readonly dependencies: SyncDependencies;

  constructor(
    readonly options: SyncOptions,
    dependencies: Partial<SyncDependencies> = {},
  ) {
    this.dependencies = {
      get: dependencies.get ?? getCapped,
      runHook: dependencies.runHook ?? runHook,
      now: dependencies.now ?? (() => new Date()),
    };
  }

  async sync(stop?: AbortSignal): Promise<SyncOutcome> {
    try {
      return await this.attempt(stop);
    } catch (error) {
      if (error instanceof FeedRefusal) {
        return { status: 'refused', reason: this.redact(error.message) };
      }
      return { status: 'error', reason: this.redact(describeFailure(error, this.options.timeoutMs)) };
    }
  }

  private async attempt(stop: AbortSignal | undefined): Promise<SyncOutcome> {
    const { file, rendering } = this.options;
    const current = await readCurrent(file);
    const stored = await loadSyncState(file);
    // Validators only describe the file if it is still the one the agent wrote, from this URL.
    const trusted = stored !== undefined && current !== undefined && stored.url === this.options.url.href && stored.sha256 === sha256(current);
    const state = trusted ? stored : undefined;
    // The version floor holds even when the validators do not: the newer of what the state
    // recorded and what the current file's header says. A version only ever grows.
    const held = maxVersion(stored?.version !== undefined ? BigInt(stored.version) : undefined, current && headerVersion(current, rendering));

    const fetched = await this.fetchChecked(state, stop);
    if (fetched === 'not modified') {
      const hooks = state!.pendingApply ? await this.applyPending(state!) : [];
      return { status: 'unchanged', version: state!.version, why: 'not modified', hooks, ...this.unsigned() };
    }
    const accepted: Accepted = { stale: fetched.stale, ...this.unsigned() };
    if (held !== undefined && BigInt(fetched.info.version) < held) {
      if (!this.options.allowRollback) {
        throw new FeedRefusal(
          `the body is version ${fetched.info.version}, older than version ${held} this host already holds ` +
            '(a replayed old body would bring revoked entries back); --allow-rollback accepts it deliberately',
        );
      }
      accepted.rolledBackFrom = held.toString();
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
      next.pendingApply = state === undefined ? this.hasHooks() : (state.pendingApply ?? false);
      await saveSyncState(file, next);
      const hooks = next.pendingApply ? await this.applyPending(next) : [];
      const why = current.equals(fetched.body) ? 'same content' : 'same entries';
      return { status: 'unchanged', version: next.version, why, hooks, ...accepted };
    }

    await writeFileAtomic(file, fetched.body);
    // Written after the rename: a crash in between leaves a state whose digest no longer matches
    // the file, so the next run fetches unconditionally, finds the same entries and applies them once.
    next.pendingApply = this.hasHooks();
    await saveSyncState(file, next);
    let hooks: string[];
    try {
      hooks = next.pendingApply ? await this.applyPending(next) : [];
    } catch (error) {
      if (error instanceof HookFailure) {
        return { status: 'error', reason: this.redact(error.message), replacedWith: fetched.info.version };
      }
      throw error;
    }
    return { status: 'changed', version: fetched.info.version, entries: fetched.info.entries, hooks, ...accepted };
  }

  private hasHooks(): boolean {
    return this.options.postmap || this.options.reloadCommand !== undefined;
  }

  private unsigned(): Pick<Accepted, 'unsigned'> {
    return this.options.publicKeys === null ? { unsigned: true } : {};
  }

  /** postmap, then the reload command; clears `pendingApply` when both succeed, else throws (the reload never follows a failed postmap). */
  private async applyPending(state: SyncState): Promise<string[]> {
    const done: string[] = [];
    const env = { HELOPASS_SYNC_FILE: this.options.file };
    const limits = { timeoutMs: this.options.hookTimeoutMs };
    if (this.options.postmap) {
      const result = await this.dependencies.runHook({ program: 'postmap', args: [this.options.file] }, env, limits);
      if (!result.ok) {
        throw new HookFailure(`postmap failed (${result.detail}); the reload is not run; both are retried at the next sync`);
      }
      done.push('postmap');
    }
    if (this.options.reloadCommand !== undefined) {
      const result = await this.dependencies.runHook({ shell: this.options.reloadCommand }, env, limits);
      if (!result.ok) {
        throw new HookFailure(`the reload command failed (${result.detail}); it is retried at the next sync`);
      }
      done.push('reload');
    }
    await saveSyncState(this.options.file, { ...state, pendingApply: false });
    return done;
  }

  /** The body, within the size cap, signed by the given key (unless --unsigned) and in the rendering's grammar. */
  private async fetchChecked(state: SyncState | undefined, stop: AbortSignal | undefined): Promise<Fetched | 'not modified'> {
    for (let attempt = 1; ; attempt += 1) {
      const response = await this.get(this.options.url, stop, this.options.maxBytes, {
        'accept-encoding': 'gzip',
        ...(state?.etag ? { 'if-none-match': state.etag } : {}),
        ...(state?.lastModified ? { 'if-modified-since': state.lastModified } : {}),
      });
      if (response.status === 304) {
        if (!state) {
          throw new SyncFailure('HTTP 304 to an unconditional request');
        }
        return 'not modified';
      }
      expectOk(response, 'the feed');
      const body = response.body;
      checkFeedStart(body);
      const etag = response.header('etag');
      // The signature before the grammar: a forged body is reported as forged, not as a bad line.
      if (this.options.publicKeys !== null) {
        const signature = await this.signatureOf(response, etag, attempt, stop);
        if (signature === 'retry') {
          continue;
        }
        if (!verifyFeedSignature(body, signature, this.options.publicKeys)) {
          const given = this.options.publicKeys.length === 1 ? 'the given --public-key' : `any of the ${this.options.publicKeys.length} given public keys`;
          throw new FeedRefusal(signature.length === 64 ? `bad signature: the body is not signed by ${given}` : `bad signature: ${signature.length} bytes, not 64`);
        }
      }
      return {
        body,
        info: checkFeedBody(body, this.options.rendering),
        etag,
        lastModified: response.header('last-modified'),
        stale: response.header('x-allowlist-stale-since'),
      };
    }
  }

  /**
   * The signature that came with the body (X-Allowlist-Signature: always the
   * one of exactly these bytes), else `<url>.sig` — a second GET, which can
   * meet the next version when the feed changes in between: then 'retry'.
   */
  private async signatureOf(response: FeedResponse, etag: string | undefined, attempt: number, stop: AbortSignal | undefined): Promise<Buffer | 'retry'> {
    const inline = response.header('x-allowlist-signature');
    if (inline !== undefined) {
      if (!/^[A-Za-z0-9+/]{86}==$/.test(inline.trim())) {
        throw new FeedRefusal('bad signature: the X-Allowlist-Signature header is not the base64 of 64 bytes');
      }
      return Buffer.from(inline.trim(), 'base64');
    }
    const signatureUrl = new URL(this.options.url);
    signatureUrl.pathname += '.sig';
    const signed = await this.get(signatureUrl, stop, MAX_SIGNATURE_BYTES, { accept: 'application/octet-stream' });
    const signatureEtag = signed.header('etag');
    // The server tags a signature `"<body tag>.sig"`: a different tag means the feed moved on in between.
    const sameVersion = !etag || !signatureEtag || signatureEtag === `${etag.slice(0, -1)}.sig"`;
    if (!sameVersion && attempt < MAX_PAIR_ATTEMPTS) {
      return 'retry';
    }
    if (signed.status === 404) {
      throw new FeedRefusal('the body came unsigned: no X-Allowlist-Signature header, and <url>.sig answered HTTP 404');
    }
    expectOk(signed, 'the signature');
    return signed.body;
  }

  private async get(url: URL, stop: AbortSignal | undefined, maxBytes: number, headers: Record<string, string>): Promise<FeedResponse> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    return this.dependencies.get(url, {
      headers: { authorization: `Bearer ${this.options.key}`, 'user-agent': USER_AGENT, ...headers },
      maxBytes,
      signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
    });
  }
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

function expectOk(response: FeedResponse, what: string): void {
  if (response.status === 200) {
    return;
  }
  let detail = '';
  if (response.status >= 300 && response.status < 400) {
    const location = response.header('location');
    detail = location ? ` to ${JSON.stringify(location.slice(0, 200))}; give the final URL` : '';
  } else if ((response.header('content-type') ?? '').includes('json')) {
    let problem: { title?: unknown; detail?: unknown } = {};
    try {
      problem = JSON.parse(response.body.toString('utf8')) as typeof problem;
    } catch {
      // not JSON after all: the status says enough
    }
    const said = [problem?.title, problem?.detail].filter((part) => typeof part === 'string' && part !== '').join(': ');
    detail = said ? ` (${JSON.stringify(said.slice(0, 200)).slice(1, -1)})` : '';
  }
  const hint = response.status === 401 ? ', the key was refused' : response.status === 403 ? ', the key may not read the feed' : '';
  throw new SyncFailure(`${what} answered HTTP ${response.status}${hint}${detail}`);
}

function maxVersion(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined || a >= b ? a : b;
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof SyncFailure) {
    return error.message;
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
  // node:http reports a failed connection or TLS handshake as a system error with a code.
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && !code.startsWith('ERR_INVALID_ARG')) {
    return `cannot reach the feed: ${code}: ${error.message}`;
  }
  return error.message;
}

/** The one log line per sync (stderr). */
export function describeOutcome(outcome: SyncOutcome, file: string): string {
  const stale = 'stale' in outcome && outcome.stale ? `; the server serves a stale snapshot (database unreachable since ${outcome.stale})` : '';
  const hooks = 'hooks' in outcome && outcome.hooks.length > 0 ? `; ran ${outcome.hooks.join(', ')}` : '';
  const rollback = 'rolledBackFrom' in outcome && outcome.rolledBackFrom ? `; rolled back from version ${outcome.rolledBackFrom} (--allow-rollback)` : '';
  const unsigned = 'unsigned' in outcome && outcome.unsigned ? '; signature NOT checked (--unsigned)' : '';
  switch (outcome.status) {
    case 'changed':
      return `changed ${file}: version ${outcome.version}, ${outcome.entries} ${outcome.entries === 1 ? 'entry' : 'entries'}${rollback}${hooks}${unsigned}${stale}`;
    case 'unchanged':
      return `unchanged ${file}${outcome.version ? `: version ${outcome.version}` : ''} (${outcome.why})${rollback}${hooks}${unsigned}${stale}`;
    case 'refused':
      return `refused ${file}: ${outcome.reason}; the current file is kept`;
    case 'error':
      return outcome.replacedWith !== undefined
        ? `error ${file}: replaced with version ${outcome.replacedWith}, but ${outcome.reason}`
        : `error ${file}: ${outcome.reason}; the current file is kept`;
  }
}
