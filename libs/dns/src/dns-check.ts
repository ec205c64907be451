import { nameLengthProblem } from './limits.js';
import type { DnsFanout, DnsLookup, DnsOutcome, LookupOptions, MxRecord } from './types.js';

/** Why a check's lookups were abandoned: its overall deadline passed. */
export class DnsDeadlineExceeded extends Error {
  override readonly name = 'DnsDeadlineExceeded';
}

/**
 * One check's overall time budget, from its start: an AbortSignal that every
 * lookup of the check is given. Real elapsed time on purpose (not the
 * injected business clock): it bounds how long a caller waits.
 */
class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly ms: number,
    lookups: () => number,
  ) {
    if (!Number.isInteger(ms) || ms < 1) {
      throw new Error(`a DNS check deadline must be a positive whole number of milliseconds, got ${ms}`);
    }
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      const count = lookups();
      this.controller.abort(
        new DnsDeadlineExceeded(
          `EDEADLINE: deadline exceeded after ${count} lookup${count === 1 ? '' : 's'}: the DNS check may take at most ${ms} ms`,
        ),
      );
    }, ms);
    // A deadline never keeps a process alive on its own.
    this.timer.unref();
  }

  get reason(): string | null {
    return this.signal.aborted ? (this.signal.reason as Error).message.replace(/^EDEADLINE: /, '') : null;
  }

  end(): void {
    clearTimeout(this.timer);
  }
}

function abandonedOutcome(signal: AbortSignal): DnsOutcome<never> {
  return { status: 'timeout', resolver: '', error: (signal.reason as Error).message };
}

function refusedName(problem: string): DnsOutcome<never> {
  return { status: 'error', resolver: '', error: `EBADNAME: ${problem}` };
}

/** Lowercase without the trailing dot: the memo key of a name (RFC 4343). */
function key(type: string, name: string): string {
  const lower = name.toLowerCase();
  return `${type} ${lower.endsWith('.') ? lower.slice(0, -1) : lower}`;
}

/**
 * One check's view of DNS (DESIGN.md, Ownership §7): an ownership check, a
 * HELO diagnosis. It wraps the process's DnsLookup so that, for this check
 * only,
 * - a name too long to exist (a label over 63, a name over 253 characters)
 *   is refused without a query;
 * - the same question (type and name) is asked once: later askers share the
 *   first answer, so a policy that names one host twenty times costs one query;
 * - every lookup runs under one overall deadline; once it has passed, lookups
 *   answer `timeout` ("could not tell", never "no record") with
 *   `deadline exceeded after N lookups` and nothing more is sent.
 * Other checks are untouched: each has its own deadline and memo.
 */
export class DnsCheck implements DnsLookup {
  private readonly deadline: Deadline;
  private readonly memo = new Map<string, Promise<DnsOutcome<unknown>>>();
  private sent = 0;

  constructor(
    private readonly dns: DnsLookup,
    options: { deadlineMs: number },
  ) {
    this.deadline = new Deadline(options.deadlineMs, () => this.sent);
  }

  /** Questions sent to DNS by this check (repeats answered from the memo not counted). */
  get lookups(): number {
    return this.sent;
  }

  get deadlineMs(): number {
    return this.deadline.ms;
  }

  get signal(): AbortSignal {
    return this.deadline.signal;
  }

  /** `deadline exceeded after N lookups: …` once the deadline has passed, else null. */
  get deadlineExceeded(): string | null {
    return this.deadline.reason;
  }

  txt(name: string): Promise<DnsOutcome<string>> {
    return this.ask('TXT', name, (options) => this.dns.txt(name, options));
  }

  a(name: string): Promise<DnsOutcome<string>> {
    return this.ask('A', name, (options) => this.dns.a(name, options));
  }

  aaaa(name: string): Promise<DnsOutcome<string>> {
    return this.ask('AAAA', name, (options) => this.dns.aaaa(name, options));
  }

  mx(name: string): Promise<DnsOutcome<MxRecord>> {
    return this.ask('MX', name, (options) => this.dns.mx(name, options));
  }

  ptr(address: string): Promise<DnsOutcome<string>> {
    // An address, not a name: the client builds the (bounded) reverse name itself.
    return this.ask('PTR', address, (options) => this.dns.ptr(address, options), false);
  }

  /** Stops the deadline timer; the check is over. */
  end(): void {
    this.deadline.end();
  }

  private ask<T>(
    type: string,
    name: string,
    query: (options: LookupOptions) => Promise<DnsOutcome<T>>,
    isName = true,
  ): Promise<DnsOutcome<T>> {
    const problem = isName ? nameLengthProblem(name) : null;
    if (problem !== null) {
      return Promise.resolve(refusedName(problem));
    }
    const signal = this.deadline.signal;
    const memoKey = key(type, name);
    const known = this.memo.get(memoKey);
    if (known !== undefined) {
      return known as Promise<DnsOutcome<T>>;
    }
    if (signal.aborted) {
      return Promise.resolve(abandonedOutcome(signal));
    }
    this.sent += 1;
    const answer = query({ signal }).catch(
      (error: unknown): DnsOutcome<T> => ({ status: 'error', resolver: '', error: error instanceof Error ? error.message : String(error) }),
    );
    // The deadline holds even for a lookup that does not watch the signal itself;
    // one that does (DnsClient) answers first, naming the resolver it was waiting for.
    let onAbort: (() => void) | undefined;
    const abandoned = new Promise<DnsOutcome<T>>((resolve) => {
      onAbort = () => setImmediate(() => resolve(abandonedOutcome(signal)));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const pending = Promise.race([answer, abandoned]).finally(() => signal.removeEventListener('abort', onAbort!));
    this.memo.set(memoKey, pending);
    return pending;
  }
}

/**
 * A DnsFanout whose every `txtFromEach` call is one check with its own
 * deadline: a domain's challenge look ends within `deadlineMs` whatever its
 * DNS does (a CNAME chain, servers that answer slowly), as "could not tell".
 */
export function boundedFanout(fanout: DnsFanout, deadlineMs: number): DnsFanout {
  return {
    resolvers: fanout.resolvers,
    async txtFromEach(name: string): Promise<DnsOutcome<string>[]> {
      const problem = nameLengthProblem(name);
      if (problem !== null) {
        return fanout.resolvers.map((resolver) => ({ ...refusedName(problem), resolver }));
      }
      const deadline = new Deadline(deadlineMs, () => fanout.resolvers.length);
      try {
        return await fanout.txtFromEach(name, { signal: deadline.signal });
      } finally {
        deadline.end();
      }
    },
  };
}

/** Starts checks over one DnsLookup, each with the configured deadline and a memo of its own. */
export class DnsChecks {
  constructor(
    private readonly dns: DnsLookup,
    readonly deadlineMs: number,
  ) {}

  begin(): DnsCheck {
    return new DnsCheck(this.dns, { deadlineMs: this.deadlineMs });
  }
}
