import { Controller, Get, Inject, Query, Req } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiOkResponse, ApiOperation, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { DiagnosticsService } from '../diagnostics/diagnostics.service.js';
import { HeloDiagnosticsQueryDto } from '../diagnostics/dto/diagnostics.dto.js';
import { RateLimitedException } from '../common/problem.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Public } from '../common/roles.decorator.js';
import { PublicHeloCheckDto } from './public-helo-check.dto.js';

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * The self-check for senders' administrators: what our servers would
 * answer to a HELO name from an address, the DNS facts and the fix. It
 * never tells whether a server is registered, who owns it, or whether an
 * exception exists: that stays behind a key.
 */
@ApiTags('public')
@Controller('v1/public')
export class PublicHeloCheckController {
  private limiter: Limiter | undefined;

  constructor(
    private readonly diagnostics: DiagnosticsService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  @Get('helo-check')
  @Public()
  @ApiOperation({
    summary:
      'No key: would our servers refuse this HELO name from this address, with the exact reply, the DNS facts and how to fix it. ' +
      'Rate-limited per client address (PUBLIC_CHECK_PER_MINUTE); a name that fails syntax is not looked up.',
  })
  @ApiOkResponse({ type: PublicHeloCheckDto })
  @ApiTooManyRequestsResponse({ description: 'Too many checks from this address', type: ProblemResponseDto })
  async check(@Query() query: HeloDiagnosticsQueryDto, @Req() request: FastifyRequest): Promise<PublicHeloCheckDto> {
    const status = await this.limit()(request);
    if (!status.isAllowed && status.isExceeded) {
      const seconds = Math.max(1, Math.ceil(status.ttl / 1000));
      throw new RateLimitedException(seconds, `too many checks from this address; retry after ${seconds} s`);
    }
    const diagnosis = await this.diagnostics.diagnoseHelo(query.helo, query.ip, 'public');
    // Field by field: whatever the staff diagnosis grows, only these reach the public.
    return {
      syntax: diagnosis.syntax,
      neverPublic: diagnosis.neverPublic,
      dns: diagnosis.dns,
      postfix: diagnosis.postfix,
      client: diagnosis.client,
      advice: diagnosis.advice,
    };
  }

  /** Per client address (IPv6 by its /64), counted apart from every other budget. */
  private limit(): Limiter {
    this.limiter ??= (this.adapterHost.httpAdapter.getInstance() as FastifyInstance).createRateLimit({
      max: this.config.console.publicCheckPerMinute,
      timeWindow: 60_000,
      allowList: () => false,
    });
    return this.limiter;
  }
}
