import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SnapshotStore } from '@app/allowlist';
import { pendingMigrations } from '@app/database';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Public } from '../common/roles.decorator.js';
import { HealthRepository } from './health.repository.js';

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthRepository,
    private readonly allowlist: SnapshotStore,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'The database answers and every migration is applied' })
  @ApiOkResponse({ schema: { example: { status: 'ready', database: 'up', migrations: 'applied', allowlist: { version: '42', staleSince: null } } } })
  @ApiServiceUnavailableResponse({ type: ProblemResponseDto })
  async ready(): Promise<{ status: 'ready'; database: 'up'; migrations: 'applied'; allowlist: { version: string | null; staleSince: string | null } }> {
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
    };
  }
}
