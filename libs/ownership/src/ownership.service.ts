import { Inject, Injectable, Logger } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { DnsChecks } from '@app/dns';
import { Clock, NotFoundError } from '@app/domain';
import { DomainsRepository } from './domains.repository.js';
import { addressesOnSpfAlone, collectEvidence, type Evidence } from './evidence.js';
import { OwnershipRepository, type ServerClaims } from './ownership.repository.js';

export interface OwnershipView extends Evidence {
  mailServerId: string;
  checkedAt: Date;
  /** True when something it rests on changed since: `POST …/ownership/check` recomputes it. */
  stale: boolean;
}

/** Mail-server ownership evidence (DESIGN.md, Ownership §5): PTR and SPF for addresses, the domain for the HELO name. */
@Injectable()
export class OwnershipService {
  private readonly logger = new Logger(OwnershipService.name);

  constructor(
    private readonly ownership: OwnershipRepository,
    private readonly domains: DomainsRepository,
    private readonly clock: Clock,
    private readonly dnsChecks: DnsChecks,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** The last evidence (computed now when there is none yet). */
  async get(mailServerId: string): Promise<OwnershipView> {
    const server = await this.server(mailServerId);
    const stored = await this.ownership.stored(mailServerId);
    if (!stored) {
      return this.compute(server);
    }
    const claimsChanged =
      stored.evidence.heloHostname !== server.heloHostname || stored.evidence.addresses.join() !== server.addresses.join();
    return {
      ...stored.evidence,
      // Evidence stored before this field existed reads the same as fresh evidence.
      spfOnlyAddresses: addressesOnSpfAlone(stored.evidence),
      mailServerId,
      checkedAt: stored.checkedAt,
      stale: stored.stale || claimsChanged,
    };
  }

  /** Recomputes the evidence now; `store: false` (a grant's preview) leaves the recorded evidence as it was. */
  async check(mailServerId: string, options: { store?: boolean } = {}): Promise<OwnershipView> {
    return this.compute(await this.server(mailServerId), options.store ?? true);
  }

  /** Recomputes what is missing, stale or older than the re-check interval; what the worker runs. */
  async refreshDue(limit = 100): Promise<number> {
    const olderThan = new Date(this.clock.now().getTime() - this.config.ownership.recheckIntervalHours * 3_600_000);
    const ids = await this.ownership.needingEvidence(olderThan, limit);
    for (const id of ids) {
      const server = await this.ownership.server(id);
      if (server) {
        await this.compute(server).catch((error: unknown) =>
          this.logger.error({ err: error, mailServerId: id }, 'ownership evidence failed'),
        );
      }
    }
    return ids.length;
  }

  private async server(id: string): Promise<ServerClaims> {
    const server = await this.ownership.server(id);
    if (!server) {
      throw new NotFoundError('mail server');
    }
    return server;
  }

  private async compute(server: ServerClaims, store = true): Promise<OwnershipView> {
    const domains = await this.domains.verifiedNames(server.organizationId);
    // One DNS check per computation: one deadline, each question asked once.
    const check = this.dnsChecks.begin();
    let evidence: Evidence;
    try {
      evidence = await collectEvidence(server, domains, check);
    } finally {
      check.end();
    }
    if (evidence.dnsCheck.deadlineExceeded !== null) {
      this.logger.warn(
        { mailServerId: server.id, lookups: evidence.dnsCheck.lookups, deadlineMs: evidence.dnsCheck.deadlineMs },
        'ownership check ran out of its DNS deadline',
      );
    }
    const checkedAt = this.clock.now();
    if (store) {
      await this.ownership.store(server, evidence, checkedAt);
    }
    return { ...evidence, mailServerId: server.id, checkedAt, stale: false };
  }
}
