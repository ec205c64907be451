import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Page } from '@app/domain';
import { ApiWrite } from '../common/api-write.decorator.js';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { CustomerScope } from '../common/customer-scope.decorator.js';
import { Roles } from '../common/roles.decorator.js';
import { IfMatch, type Versioned } from '../common/versioned.js';
import {
  CreateMailServerDto,
  ListMailServersQueryDto,
  MailServerPageDto,
  MailServerResponseDto,
  SearchMailServersQueryDto,
  UpdateMailServerDto,
} from './dto/mail-server.dto.js';
import { MailServersService, type MailServer } from '@app/registry';

@ApiTags('mail-servers')
@Controller('v1')
export class MailServersController {
  constructor(private readonly servers: MailServersService) {}

  @Post('organizations/:id/mail-servers')
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.param('organization')
  @ApiWrite()
  @ApiOperation({ summary: "Register one of an organization's sending servers" })
  @ApiCreatedResponse({ type: MailServerResponseDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'The (HELO, address) belongs to another organization', type: ProblemResponseDto })
  create(
    @IdParam('organization') organizationId: string,
    @Body() body: CreateMailServerDto,
    @Context() context: RequestContext,
  ): Promise<Versioned<MailServer>> {
    return this.servers.create(organizationId, body, context);
  }

  @Get('organizations/:id/mail-servers')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('organization')
  @ApiOperation({ summary: "An organization's mail servers, newest first" })
  @ApiOkResponse({ type: MailServerPageDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ProblemResponseDto })
  listForOrganization(
    @IdParam('organization') organizationId: string,
    @Query() query: ListMailServersQueryDto,
  ): Promise<Page<MailServer>> {
    return this.servers.listForOrganization(organizationId, query, query.limit, query.cursor);
  }

  @Get('mail-servers')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.listed()
  @ApiOperation({ summary: 'Find mail servers by HELO name and/or an address their prefixes contain' })
  @ApiOkResponse({ type: MailServerPageDto })
  search(@Query() query: SearchMailServersQueryDto, @Context() context: RequestContext): Promise<Page<MailServer>> {
    return this.servers.list({ helo: query.helo, address: query.address, organizationId: context.scope.listFilter(undefined) }, query.limit, query.cursor);
  }

  @Get('mail-servers/:id')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('mail server')
  @ApiOperation({ summary: 'One mail server (with its ETag)' })
  @ApiOkResponse({ type: MailServerResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  get(@IdParam('mail server') id: string): Promise<Versioned<MailServer>> {
    return this.servers.get(id);
  }

  @Patch('mail-servers/:id')
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({
    summary: 'Change the HELO name, the addresses (replaced as a whole) or the description; name and addresses only while no exception runs',
  })
  @ApiOkResponse({ type: MailServerResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({
    description: 'The (HELO, address) belongs to another organization, or running exceptions (named) hold the HELO name and addresses',
    type: ProblemResponseDto,
  })
  update(
    @IdParam('mail server') id: string,
    @Body() body: UpdateMailServerDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<MailServer>> {
    return this.servers.update(id, body, version, context);
  }

  @Delete('mail-servers/:id')
  @HttpCode(204)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Remove a mail server (kept for history, audited)' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  remove(
    @IdParam('mail server') id: string,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<void> {
    return this.servers.remove(id, version, context);
  }
}
