import type { DnsOutcome, LookupOptions } from './types.js';

export { DEFAULT_DNS_CANARY_NAME } from '@app/domain';

/** How long one resolver's canary answer is trusted: one query per resolver per half minute, however many checks ask. */
export const CANARY_TTL_MS = 30_000;

/** What ResolverHealth asks each resolver with (DnsClient does it). */
export interface ResolverProbe {
  readonly resolvers: readonly string[];
  aFrom(resolver: string, name: string, options?: LookupOptions): Promise<DnsOutcome<string>>;
}

export interface ResolverCheck {
  /** `address:port`, as every answer names it. */
  resolver: string;
  /** `ok`: the resolver found the canary; `broken`: it did not, so its "no such name" says nothing. */
  status: 'ok' | 'broken';
  canary: string;
  /** What the resolver said about the canary, in words. */
  detail: string;
  checkedAt: Date;
}

function describe(outcome: DnsOutcome<string>, canary: string): { status: ResolverCheck['status']; detail: string } {
  switch (outcome.status) {
    case 'ok':
      return { status: 'ok', detail: `found the canary ${canary} (${outcome.records.join(', ')})` };
    case 'nxdomain':
      return { status: 'broken', detail: `answered NXDOMAIN for the canary ${canary}, a name that always exists` };
    case 'nodata':
      return { status: 'broken', detail: `answered "no address" for the canary ${canary}, a name that always has one` };
    default:
      return { status: 'broken', detail: `could not answer for the canary ${canary} (${outcome.status}: ${outcome.error})` };
  }
}

/**
 * Sanity checks of our own resolvers: each must find a name that always
 * exists (the canary) before its "no such name" or "no record" is held
 * against a customer. A resolver that answers NXDOMAIN for everything (a
 * machine without outside DNS, a broken forwarder) would otherwise make every
 * challenge "not published". Answers are kept for CANARY_TTL_MS and shared by
 * concurrent callers, so a storm of checks costs one canary query per resolver.
 * Real elapsed time on purpose (not the injected business clock): it is a cache.
 */
export class ResolverHealth {
  private readonly cache = new Map<string, { at: number; check: Promise<ResolverCheck> }>();

  constructor(
    private readonly probe: ResolverProbe,
    readonly canary: string,
    private readonly ttlMs: number = CANARY_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get resolvers(): readonly string[] {
    return this.probe.resolvers;
  }

  /** The resolver's health, from the cache when fresh. Never rejects. */
  check(resolver: string): Promise<ResolverCheck> {
    const at = this.now();
    const known = this.cache.get(resolver);
    if (known !== undefined && at - known.at < this.ttlMs) {
      return known.check;
    }
    const check = this.probe
      .aFrom(resolver, this.canary)
      .catch((error: unknown): DnsOutcome<string> => ({ status: 'error', resolver, error: error instanceof Error ? error.message : String(error) }))
      .then((outcome) => ({ resolver, canary: this.canary, checkedAt: new Date(at), ...describe(outcome, this.canary) }));
    this.cache.set(resolver, { at, check });
    return check;
  }

  /** Every configured resolver's health. */
  checkAll(): Promise<ResolverCheck[]> {
    return Promise.all(this.probe.resolvers.map((resolver) => this.check(resolver)));
  }

  /**
   * Every resolver's health as far as it is known within `waitMs` (readiness
   * must answer fast): a canary answer still awaited then reads `checking`.
   */
  async current(waitMs: number): Promise<Array<ResolverCheck | { resolver: string; status: 'checking'; canary: string }>> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), waitMs);
    });
    try {
      return await Promise.all(
        this.probe.resolvers.map(async (resolver) => {
          const check = await Promise.race([this.check(resolver), late]);
          return check === 'late' ? { resolver, status: 'checking' as const, canary: this.canary } : check;
        }),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Of the resolvers whose outcomes said "no such name" or "no record", those
   * that look broken, with why. Resolvers that gave any other answer are not
   * asked: a record seen, or a failure, already speaks for itself.
   */
  async brokenAmong(outcomes: ReadonlyArray<{ status: string; resolver: string | null }>): Promise<Map<string, ResolverCheck>> {
    const negative = new Set<string>();
    for (const { status, resolver } of outcomes) {
      if ((status === 'nxdomain' || status === 'nodata') && resolver) {
        negative.add(resolver);
      }
    }
    const checks = await Promise.all([...negative].map((resolver) => this.check(resolver)));
    return new Map(checks.filter((check) => check.status === 'broken').map((check) => [check.resolver, check]));
  }
}

/** `cannot tell: our resolver 10.0.0.53:53 looks broken (it answered NXDOMAIN for the canary …)`. */
export function brokenResolverDetail(checks: Iterable<ResolverCheck>): string {
  const list = [...checks];
  const names = list.map((check) => `${check.resolver} (it ${check.detail})`).join('; ');
  return `cannot tell: our resolver${list.length === 1 ? '' : 's'} ${names} look${list.length === 1 ? 's' : ''} broken, so ${list.length === 1 ? 'its' : 'their'} "no such name" says nothing about the customer's DNS`;
}
