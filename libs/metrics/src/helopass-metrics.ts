import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; an HTTP answer from memory takes well under a millisecond, a write a few. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; a policy decision is a lookup in memory (microseconds). */
const DECISION_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];
/** Seconds from a change's commit to its being served (FEED_COALESCE_MS adds up to 0.1 s by default). */
const APPLY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300];

/** What a process may read each time it is scraped (a source that throws is skipped for that scrape). */
export interface SnapshotSource {
  /** The version served, or null before the first load. */
  version(): bigint | null;
  /** When the snapshot served was built, or null. */
  builtAt(): Date | null;
  /** Since when it may be out of date (the database could not be read), or null. */
  staleSince(): Date | null;
}

export interface PoolSource {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { max?: number };
}

export interface QueueCounts {
  readonly queue: string;
  readonly queued: number;
  readonly active: number;
  /** Failed jobs the queue still keeps (a rolling count, pruned by the queue's retention). */
  readonly failed: number;
}

export interface PendingApprovals {
  readonly kind: string;
  readonly count: number;
  /** When the oldest one was asked for, or null when none waits. */
  readonly oldestSince: Date | null;
}

/**
 * The Prometheus metrics of one HeloPass process (api, worker or policy
 * server), on a registry of its own (never prom-client's global one: tests
 * run several apps in one process). Counters and histograms are declared in
 * every process; gauges that read state appear once a process attaches the
 * state they read (`watch…`).
 */
export class HeloPassMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'helopass_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'helopass_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to answering it, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  readonly feedPolls = new Counter({
    name: 'helopass_feed_polls_total',
    help: 'Allowlist feed polls answered, by rendering (".sig": its signature) and status (200, 304, or the refusal).',
    labelNames: ['rendering', 'status'] as const,
    registers: [this.registry],
  });

  readonly rateLimitRefusals = new Counter({
    name: 'helopass_rate_limit_refusals_total',
    help: 'Requests refused with 429, by the budget used up (address, key, feed, auth-failures).',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'helopass_auth_failures_total',
    help: 'Failed authentications, by reason (missing, malformed, unknown, revoked, expired, session-ended).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly changeApply = new Histogram({
    name: 'helopass_snapshot_change_apply_seconds',
    help: 'Time from a change\'s commit in PostgreSQL to its being served from memory (per version applied).',
    buckets: APPLY_BUCKETS,
    registers: [this.registry],
  });

  readonly policyDecisions = new Counter({
    name: 'helopass_policy_decisions_total',
    help: 'Postfix policy decisions, by action (OK: an exception lets the client through; DUNNO: Postfix decides).',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  readonly policyDecisionDuration = new Histogram({
    name: 'helopass_policy_decision_duration_seconds',
    help: 'Time to decide one policy request, by action.',
    labelNames: ['action'] as const,
    buckets: DECISION_BUCKETS,
    registers: [this.registry],
  });

  readonly policyRefusedConnections = new Counter({
    name: 'helopass_policy_refused_connections_total',
    help: 'Policy connections refused because POLICY_MAX_CONNECTIONS were open.',
    registers: [this.registry],
  });

  readonly policyMalformedRequests = new Counter({
    name: 'helopass_policy_malformed_requests_total',
    help: 'Policy requests that could not be read (the connection is closed without an answer).',
    registers: [this.registry],
  });

  readonly dnsChecks = new Counter({
    name: 'helopass_dns_checks_total',
    help: 'DNS checks of domain ownership (TXT challenges), by trigger (verify, retry, recheck) and outcome.',
    labelNames: ['trigger', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly domainLapses = new Counter({
    name: 'helopass_domain_lapses_total',
    help: 'Verified domains that lapsed (their proof failed long enough); the exceptions resting on them are suspended.',
    registers: [this.registry],
  });

  readonly jobs = new Counter({
    name: 'helopass_jobs_total',
    help: 'Jobs the worker ran, by queue and result (completed, failed).',
    labelNames: ['queue', 'result'] as const,
    registers: [this.registry],
  });

  constructor(readonly process: 'api' | 'worker' | 'policy') {
    // Process CPU, memory, event-loop lag, GC: the `process_` and `nodejs_` families.
    collectDefaultMetrics({ register: this.registry });
  }

  /** The text Prometheus scrapes. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Counts one HTTP answer; `route` is the route template (`/v1/exceptions/:id`), never the raw URL. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /** Snapshot version, age and staleness, read at each scrape. */
  watchSnapshot(source: SnapshotSource): void {
    this.gauge('helopass_snapshot_version', 'The allowlist version served from memory (-1 before the first load).', () => Number(source.version() ?? -1n));
    this.gauge('helopass_snapshot_age_seconds', 'Seconds since the snapshot served was built (rebuilt at each change and at each start or expiry).', () => {
      const built = source.builtAt();
      return built === null ? -1 : (Date.now() - built.getTime()) / 1000;
    });
    this.gauge('helopass_snapshot_stale', '1 while the database cannot be read and the last snapshot is served, else 0.', () => (source.staleSince() === null ? 0 : 1));
    this.gauge('helopass_snapshot_stale_seconds', 'Seconds the snapshot served has been stale (0 when current).', () => {
      const since = source.staleSince();
      return since === null ? 0 : (Date.now() - since.getTime()) / 1000;
    });
  }

  /** The database connection pool of this process. */
  watchDatabasePool(pool: () => PoolSource): void {
    this.gauge('helopass_db_pool_connections', 'Connections the pool holds, by state (idle, busy).', undefined, ['state'], (set) => {
      const current = pool();
      set({ state: 'idle' }, current.idleCount);
      set({ state: 'busy' }, current.totalCount - current.idleCount);
    });
    this.gauge('helopass_db_pool_waiting', 'Queries waiting for a free connection.', () => pool().waitingCount);
    this.gauge('helopass_db_pool_max', 'The most connections the pool opens.', () => pool().options.max ?? 10);
  }

  /** Open policy connections. */
  watchPolicyConnections(open: () => number): void {
    this.gauge('helopass_policy_connections', 'Postfix policy connections open now.', open);
  }

  /** Job queue depth (read from the queue's tables at each scrape). */
  watchJobQueues(read: () => Promise<readonly QueueCounts[]>): void {
    this.gauge('helopass_job_queue_jobs', 'Jobs in the queue, by queue and state (queued, active, failed: failed jobs still kept).', undefined, ['queue', 'state'], async (set) => {
      for (const counts of await read()) {
        set({ queue: counts.queue, state: 'queued' }, counts.queued);
        set({ queue: counts.queue, state: 'active' }, counts.active);
        set({ queue: counts.queue, state: 'failed' }, counts.failed);
      }
    });
  }

  /** Approvals waiting for a second person (read from the database at each scrape). */
  watchPendingApprovals(read: () => Promise<readonly PendingApprovals[]>): void {
    let last: readonly PendingApprovals[] = [];
    let reading: Promise<void> | undefined;
    // Both gauges are collected at once in one scrape: one database read serves both.
    const refresh = () =>
      (reading ??= read()
        .then((result) => {
          last = result;
        })
        .finally(() => {
          reading = undefined;
        }));
    this.gauge('helopass_approvals_pending', 'Requests waiting for a second person\'s approval, by kind.', undefined, ['kind'], async (set) => {
      await refresh();
      for (const pending of last) {
        set({ kind: pending.kind }, pending.count);
      }
    });
    this.gauge('helopass_approval_oldest_pending_seconds', 'Seconds the oldest request waiting for approval has waited, by kind (0 when none).', undefined, ['kind'], async (set) => {
      await refresh();
      for (const pending of last) {
        set({ kind: pending.kind }, pending.oldestSince === null ? 0 : Math.max(0, (Date.now() - pending.oldestSince.getTime()) / 1000));
      }
    });
  }

  /**
   * A gauge read at scrape time. A source that throws (the database is down)
   * leaves the gauge without samples for that scrape rather than failing it.
   */
  private gauge(
    name: string,
    help: string,
    read: (() => number) | undefined,
    labelNames: string[] = [],
    readLabelled?: (set: (labels: Record<string, string>, value: number) => void) => void | Promise<void>,
  ): void {
    if (this.registry.getSingleMetric(name)) {
      this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          if (read) {
            this.set(read());
          } else {
            await readLabelled?.((labels, value) => this.set(labels, value));
          }
        } catch {
          // Nothing to report this time; the scrape itself still answers.
        }
      },
    });
  }
}
