import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
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

interface Readiness {
  status: 'ready';
  database: 'up';
  migrations: 'applied';
  allowlist: { version: string | null; staleSince: string | null };
  dns: { status: 'ok' | 'broken' | 'checking'; canary: string; resolvers: ResolverReport[] };
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

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
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
        allowlist: { version: '42', staleSince: null },
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
  @ApiServiceUnavailableResponse({ type: ProblemResponseDto })
  async ready(): Promise<Readiness> {
    const staleSince = this.allowlist.stale();
    const stale = staleSince ? `; the allowlist is served from a snapshot stale since ${staleSince.toISOString()}` : '';
    let pending: string[];
    try {
      pending = await pendingMigrations(() => this.health.appliedMigrations());
    } catch {
      throw new ServiceUnavailableException(`the database is unreachable${stale}`);
    }
    if (pending.length > 0) {
      throw new ServiceUnavailableException(`${pending.length} migration(s) not applied`);
    }
    return {
      status: 'ready',
      database: 'up',
      migrations: 'applied',
      allowlist: { version: this.allowlist.current()?.version.toString() ?? null, staleSince: staleSince?.toISOString() ?? null },
      dns: await this.dns(),
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
