import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SnapshotStore } from '@app/enforcement';
import { pendingMigrations } from '@app/database';
import { ResolverHealth } from '@app/dns';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Public } from '../common/roles.decorator.js';
import { HealthRepository } from './health.repository.js';

/** How long readiness waits for a resolver's canary answer before it reports `checking`. */
const DNS_WAIT_MS = 1000;

interface ResolverReport {
  resolver: string;
  status: 'ok' | 'broken' | 'checking';
  detail: string | null;
  checkedAt: string | null;
}

interface AllowlistReport {
  version: string | null;
  staleSince: string | null;
  /** Whether the feed may be out of date (served from memory or disk while the database cannot be read). */
  stale: boolean;
  /** Where what is served came from: the database, or the snapshot on disk (a start during an outage); null: nothing yet. */
  source: 'database' | 'disk' | null;
  /** The instant the served list is as of. */
  asOf: string | null;
  /** Seconds since the feed went stale (0 when current). */
  staleForSeconds: number;
  /** When this process last wrote the snapshot to disk (null: not yet, or SNAPSHOT_DIR=off). */
  writtenToDiskAt: string | null;
}

interface Readiness {
  status: 'ready';
  database: 'up';
  migrations: 'applied';
  allowlist: AllowlistReport;
  dns: { status: 'ok' | 'broken' | 'checking'; canary: string; resolvers: ResolverReport[] };
}

/** A 503 readiness answer: problem+json, with each dependency's state as extension members. */
interface NotReady {
  type: string;
  title: string;
  status: 503;
  detail: string;
  requestId: string;
  database: 'up' | 'down';
  migrations: 'applied' | 'pending' | 'unknown';
  allowlist: AllowlistReport;
}

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthRepository,
    private readonly allowlist: SnapshotStore,
    private readonly resolverHealth: ResolverHealth,
  ) {}

  /** Needs nothing but the event loop: the Docker health check and a liveness probe must not restart a process that serves from disk. */
  @Get('live')
  @ApiOperation({ summary: 'The process is up (asks no dependency)' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * 503 only for what stops this process serving: the database and its
   * migrations. A broken DNS resolver is reported in the body, not as 503:
   * the feed and the policy of the mail filters do not depend on DNS, and a
   * load balancer taking every replica out for it would stop the allowlist
   * from reaching the mail hosts. Checks that need DNS say "cannot tell:
   * our resolver looks broken" meanwhile.
   */
  @Get('ready')
  @ApiOperation({ summary: 'The database answers and every migration is applied; reports the DNS resolvers\' state (a broken resolver does not make it 503)' })
  @ApiOkResponse({
    schema: {
      example: {
        status: 'ready',
        database: 'up',
        migrations: 'applied',
        allowlist: { version: '42', staleSince: null, stale: false, source: 'database', asOf: '2026-12-03T09:58:00.000Z', staleForSeconds: 0, writtenToDiskAt: '2026-12-03T09:58:01.000Z' },
        dns: {
          status: 'broken',
          canary: 'a.root-servers.net',
          resolvers: [
            {
              resolver: '10.0.0.53:53',
              status: 'broken',
              detail: 'answered NXDOMAIN for the canary a.root-servers.net, a name that always exists',
              checkedAt: '2026-12-03T10:00:00.000Z',
            },
          ],
        },
      },
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'problem+json naming what is missing, with `database`, `migrations` and `allowlist` as above',
    type: ProblemResponseDto,
  })
  async ready(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<Readiness | NotReady> {
    const allowlist = this.allowlistReport();
    const served = allowlist.source === 'disk' ? 'the snapshot on disk' : 'memory';
    const stale =
      allowlist.source === null ? '; no allowlist is served yet' : allowlist.staleSince ? `; the allowlist is served from ${served}, stale since ${allowlist.staleSince}` : '';
    let pending: string[] | undefined;
    try {
      pending = await pendingMigrations(() => this.health.appliedMigrations());
    } catch {
      pending = undefined;
    }
    if (pending === undefined || pending.length > 0) {
      void reply.status(503).header('content-type', 'application/problem+json');
      return {
        type: 'urn:helopass:problem:unavailable',
        title: 'Service unavailable',
        status: 503,
        detail: pending === undefined ? `the database is unreachable${stale}` : `${pending.length} migration(s) not applied${stale}`,
        requestId: request.id,
        database: pending === undefined ? 'down' : 'up',
        migrations: pending === undefined ? 'unknown' : 'pending',
        allowlist,
      };
    }
    return { status: 'ready', database: 'up', migrations: 'applied', allowlist, dns: await this.dns() };
  }

  private allowlistReport(): AllowlistReport {
    const snapshot = this.allowlist.current();
    const staleSince = this.allowlist.stale();
    const source = this.allowlist.source();
    return {
      version: snapshot?.version.toString() ?? null,
      staleSince: staleSince?.toISOString() ?? null,
      stale: staleSince !== null || snapshot === undefined,
      source: source.from,
      asOf: snapshot?.asOf.toISOString() ?? null,
      staleForSeconds: staleSince ? Math.max(0, Math.floor((Date.now() - staleSince.getTime()) / 1000)) : 0,
      writtenToDiskAt: source.lastWrittenAt?.toISOString() ?? null,
    };
  }

  private async dns(): Promise<Readiness['dns']> {
    const checks = await this.resolverHealth.current(DNS_WAIT_MS);
    const resolvers: ResolverReport[] = checks.map((check) =>
      check.status === 'checking'
        ? { resolver: check.resolver, status: 'checking', detail: null, checkedAt: null }
        : { resolver: check.resolver, status: check.status, detail: check.detail, checkedAt: check.checkedAt.toISOString() },
    );
    const status = resolvers.some((r) => r.status === 'broken') ? 'broken' : resolvers.some((r) => r.status === 'checking') ? 'checking' : 'ok';
    return { status, canary: this.resolverHealth.canary, resolvers };
  }
}
