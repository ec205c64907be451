import { Inject, Injectable, Logger, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { Clock } from '@app/domain';
import { SnapshotStore } from '@app/enforcement';
import { HeloPassMetrics } from '@app/metrics';
import { PolicyListener } from './policy-listener.js';
import { PolicyMatcher } from './policy-matcher.js';
import type { PolicyRequest } from './protocol.js';
import { UsageCounter, type FlushOutcome } from './usage-counter.js';
import { UsageRepository } from './usage.repository.js';

/**
 * The policy server: the matcher follows the enforcement core's list (a
 * full set, then each change), the listener answers Postfix from it, and
 * the matches are counted in memory and written in batches. No database
 * access on the way of a decision: while PostgreSQL is away the answers
 * come from the last list, and the counts wait for it.
 */
@Injectable()
export class PolicyService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('PolicyServer');
  readonly matcher = new PolicyMatcher();
  private readonly usage: UsageCounter;
  private listener: PolicyListener | undefined;
  private unsubscribe: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushFailing = false;

  constructor(
    private readonly snapshots: SnapshotStore,
    usageRepository: UsageRepository,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    @Optional() private readonly metrics?: HeloPassMetrics,
  ) {
    usageRepository.serverId = `${process.pid}@${config.policy.host}:${config.policy.port}`;
    this.usage = new UsageCounter(usageRepository);
  }

  onModuleInit(): void {
    this.unsubscribe = this.snapshots.subscribe(this.matcher);
    this.metrics?.watchPolicyConnections(() => this.connections);
  }

  /** Starts answering on POLICY_HOST:POLICY_PORT (or `port` given: 0 takes any free one). */
  async listen(port = this.config.policy.port): Promise<AddressInfo> {
    const limits = this.config.policy;
    this.listener = new PolicyListener((request) => this.timedDecision(request), {
      maxConnections: limits.maxConnections,
      maxRequestBytes: limits.maxRequestBytes,
      idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
      requestTimeoutMs: limits.requestTimeoutSeconds * 1000,
    }, {
      malformed: (remote, reason) => {
        this.metrics?.policyMalformedRequests.inc();
        this.logger.warn({ msg: 'malformed policy request; connection closed without an answer', remote, reason });
      },
      refused: (remote) => {
        this.metrics?.policyRefusedConnections.inc();
        this.logger.warn({ msg: 'policy connection refused: too many open', remote, maxConnections: limits.maxConnections });
      },
    });
    const address = await this.listener.listen(limits.host, port);
    this.flushTimer = setInterval(() => void this.flushUsage().catch(() => undefined), limits.usageFlushSeconds * 1000);
    this.flushTimer.unref();
    return address;
  }

  /** `action=OK` (true) when an exception in effect now lets this (HELO name, client address) through. */
  decide(request: PolicyRequest): boolean {
    const now = this.clock.now().getTime();
    const matched = this.matcher.match(request.heloName, request.clientAddress, now);
    for (const entry of matched) {
      this.usage.record(entry.exceptionId, now);
    }
    return matched.length > 0;
  }

  /** `decide`, counted and timed for the metrics (the action and how long the lookup took). */
  private timedDecision(request: PolicyRequest): boolean {
    const metrics = this.metrics;
    if (!metrics) {
      return this.decide(request);
    }
    const started = process.hrtime.bigint();
    const ok = this.decide(request);
    const action = ok ? 'OK' : 'DUNNO';
    metrics.policyDecisionDuration.observe({ action }, Number(process.hrtime.bigint() - started) / 1e9);
    metrics.policyDecisions.inc({ action });
    return ok;
  }

  /** Writes the counted matches now (also done every POLICY_USAGE_FLUSH_SECONDS). Throws when the database fails; nothing is lost. */
  async flushUsage(): Promise<FlushOutcome> {
    try {
      const outcome = await this.usage.flush();
      if (this.flushFailing) {
        this.flushFailing = false;
        this.logger.log('usage counts written again');
      }
      return outcome;
    } catch (error) {
      if (!this.flushFailing) {
        this.flushFailing = true;
        this.logger.error({ msg: 'cannot write usage counts; kept, retried at the next flush', err: error, unwritten: this.usage.unwritten });
      }
      throw error;
    }
  }

  /** Client connections open now. */
  get connections(): number {
    return this.listener?.connections ?? 0;
  }

  /** Matches counted and not yet written. */
  get unwrittenMatches(): number {
    return this.usage.unwritten;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    this.unsubscribe?.();
    await this.listener?.close();
    // A last flush; counts that cannot be written now are lost with the process (logged).
    await this.flushUsage().catch(() => undefined);
  }
}
