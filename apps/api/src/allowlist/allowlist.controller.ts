import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { NotFoundError } from '@app/domain';
import type { HeloPassRequest } from '../common/request-context.js';
import { RolesWithBasicAuth } from '../common/roles.decorator.js';
import { AllowlistService, type FeedRequest } from './allowlist.service.js';
import { AllowlistChangesDto, SigningKeyDto } from './allowlist.dto.js';
import { FEED_ROLES } from './feed-fast-path.js';

const VALIDATORS =
  'Strong ETag, Last-Modified, X-Allowlist-Version; If-None-Match / If-Modified-Since answer 304; gzip on Accept-Encoding; ' +
  'X-Allowlist-Stale-Since when the database could not be read. Mail filters may authenticate with HTTP Basic (the key as password).';

function feedRequest(request: HeloPassRequest, asOf: string | undefined): FeedRequest {
  return {
    role: request.caller!.role,
    ifNoneMatch: request.headers['if-none-match'],
    ifModifiedSince: request.headers['if-modified-since'],
    acceptEncoding: request.headers['accept-encoding'],
    asOf,
  };
}

/**
 * The feed's routes. GET and HEAD of the renderings and their signatures are
 * answered by the fast path (feed-fast-path.ts) before these handlers would
 * run; the handlers serve what reaches them anyway (a request without
 * credentials, to be refused) and describe the routes in the OpenAPI document.
 */
@ApiTags('allowlist')
@Controller('v1')
export class AllowlistController {
  constructor(private readonly allowlist: AllowlistService) {}

  @Get('allowlist/signing-key')
  @RolesWithBasicAuth(...FEED_ROLES)
  @ApiOperation({ summary: 'The Ed25519 public key that signs every rendering (standard forms and rspamd base32)' })
  @ApiOkResponse({ type: SigningKeyDto })
  signingKey(): SigningKeyDto {
    return this.allowlist.signingKey();
  }

  @Get('allowlist/changes')
  @RolesWithBasicAuth(...FEED_ROLES)
  @ApiOperation({
    summary: 'What changed in the allowlist since a version (delta feed)',
    description:
      'Drop every exception in `removed`, then add the entries in `added` (each in effect from startsAt until expiresAt). ' +
      '410 when the change log (kept FEED_CHANGE_LOG_RETENTION_HOURS) no longer reaches back to that version: fetch the whole list.',
  })
  @ApiQuery({ name: 'since', required: true, description: 'The version held (X-Allowlist-Version of the last full fetch, or `version` of the last delta)' })
  @ApiOkResponse({ type: AllowlistChangesDto })
  @ApiResponse({ status: 410, description: 'The change log no longer reaches back to that version (application/problem+json)' })
  changes(@Query('since') since: unknown): Promise<AllowlistChangesDto> {
    return this.allowlist.changes(since);
  }

  @Get('allowlist')
  @RolesWithBasicAuth(...FEED_ROLES)
  @ApiOperation({ summary: 'The allowlist as JSON (GET or HEAD)', description: VALIDATORS })
  @ApiQuery({ name: 'asOf', required: false, description: 'auditor, admin: the list exactly as it stood at this instant (ISO-8601)' })
  @ApiOkResponse({ description: 'version, generatedAt, entries' })
  async json(
    @Query('asOf') asOf: string | undefined,
    @Req() request: HeloPassRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.allowlist.send('json', false, feedRequest(request, asOf), reply);
  }

  @Get('allowlist.sig')
  @RolesWithBasicAuth(...FEED_ROLES)
  @ApiOperation({ summary: 'Raw 64-byte Ed25519 signature of the JSON body' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: '64 bytes' })
  async jsonSignature(
    @Query('asOf') asOf: string | undefined,
    @Req() request: HeloPassRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.allowlist.send('json', true, feedRequest(request, asOf), reply);
  }

  @Get('allowlist/:rendering')
  @RolesWithBasicAuth(...FEED_ROLES)
  @ApiOperation({
    summary: 'A rendering for a mail filter (GET or HEAD); append .sig for its raw Ed25519 signature',
    description: VALIDATORS,
  })
  @ApiParam({
    name: 'rendering',
    enum: ['postfix-cidr', 'postfix-helo', 'rspamd-ip', 'rspamd-helo', 'postfix-cidr.sig', 'postfix-helo.sig', 'rspamd-ip.sig', 'rspamd-helo.sig'],
  })
  @ApiQuery({ name: 'asOf', required: false, description: 'auditor, admin: the list exactly as it stood at this instant (ISO-8601)' })
  @ApiProduces('text/plain', 'application/octet-stream')
  @ApiOkResponse({ description: 'One entry a line after a # header with version and time' })
  async rendering(
    @Param('rendering') name: string,
    @Query('asOf') asOf: string | undefined,
    @Req() request: HeloPassRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const signature = name.endsWith('.sig');
    const rendering = signature ? name.slice(0, -4) : name;
    if (!['postfix-cidr', 'postfix-helo', 'rspamd-ip', 'rspamd-helo'].includes(rendering)) {
      throw new NotFoundError('rendering');
    }
    await this.allowlist.send(rendering as 'postfix-cidr', signature, feedRequest(request, asOf), reply);
  }
}

