import { Body, Controller, Delete, Get, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeysService, type ApiKeyView, type CreatedApiKey } from '@app/access';
import type { Page } from '@app/domain';
import { ApiWrite } from '../common/api-write.decorator.js';
import { PageQueryDto } from '../common/list-query.dto.js';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { Roles } from '../common/roles.decorator.js';
import { ReturnsSecret } from '../idempotency/returns-secret.js';
import { ApiKeyPageDto, ApiKeyResponseDto, CreateApiKeyDto, CreatedApiKeyResponseDto } from './dto/api-key.dto.js';

@ApiTags('api-keys')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @Roles('admin', 'csr')
  @ApiWrite()
  @ApiOperation({
    summary: 'Mint an API key; the secret is in this response only. A csr mints customer keys only (bound to one organization)',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponseDto })
  @ReturnsSecret('key')
  create(@Body() body: CreateApiKeyDto, @Context() context: RequestContext): Promise<CreatedApiKey> {
    return this.apiKeys.create(body, context.actor, context.requestId);
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'List API keys, newest first (never their secrets)' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  list(@Query() query: PageQueryDto): Promise<Page<ApiKeyView>> {
    return this.apiKeys.list(query.limit, query.cursor);
  }

  @Delete(':id')
  @Roles('admin')
  @ApiWrite()
  @ApiOperation({ summary: 'Revoke an API key (it stops working at once)' })
  @ApiOkResponse({ type: ApiKeyResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  revoke(@IdParam('API key') id: string, @Context() context: RequestContext): Promise<ApiKeyView> {
    return this.apiKeys.revoke(id, context.actor, context.requestId);
  }
}
