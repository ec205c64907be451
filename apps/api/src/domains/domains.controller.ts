import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Page, Versioned } from '@app/domain';
import {
  DomainOverridesService,
  DomainsService,
  type DomainCheckView,
  type DomainView,
  type VerificationResult,
} from '@app/ownership';
import { ApiWrite } from '../common/api-write.decorator.js';
import { PageQueryDto } from '../common/list-query.dto.js';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { CustomerScope } from '../common/customer-scope.decorator.js';
import { Roles } from '../common/roles.decorator.js';
import { IfMatch } from '../common/versioned.js';
import {
  CreateDomainDto,
  DomainCheckPageDto,
  DomainOverrideRejectionDto,
  DomainPageDto,
  DomainResponseDto,
  OverrideDomainDto,
  VerificationResponseDto,
} from './dto/domain.dto.js';

@ApiTags('domains')
@Controller('v1')
export class DomainsController {
  constructor(
    private readonly domains: DomainsService,
    private readonly overrides: DomainOverridesService,
  ) {}

  @Post('organizations/:id/domains')
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.param('organization')
  @ApiWrite()
  @ApiOperation({ summary: 'Claim a domain: answers the TXT challenge the customer must publish' })
  @ApiCreatedResponse({ type: DomainResponseDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Already claimed, or verified by another organization', type: ProblemResponseDto })
  create(
    @IdParam('organization') organizationId: string,
    @Body() body: CreateDomainDto,
    @Context() context: RequestContext,
  ): Promise<Versioned<DomainView>> {
    return this.domains.create(organizationId, body, context);
  }

  @Get('organizations/:id/domains')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('organization')
  @ApiOperation({ summary: "An organization's domains, newest first" })
  @ApiOkResponse({ type: DomainPageDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ProblemResponseDto })
  list(@IdParam('organization') organizationId: string, @Query() query: PageQueryDto): Promise<Page<DomainView>> {
    return this.domains.listForOrganization(organizationId, query.limit, query.cursor);
  }

  @Get('domains/:id')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('domain')
  @ApiOperation({ summary: 'One domain: status and the challenge to publish' })
  @ApiOkResponse({ type: DomainResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  get(@IdParam('domain') id: string): Promise<Versioned<DomainView>> {
    return this.domains.get(id);
  }

  @Post('domains/:id/verify')
  @HttpCode(200)
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.param('domain')
  @ApiWrite()
  @ApiOperation({ summary: 'Look at the challenge record now; answers the outcome and what each resolver saw' })
  @ApiOkResponse({ type: VerificationResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Another organization holds the domain verified', type: ProblemResponseDto })
  verify(@IdParam('domain') id: string, @Context() context: RequestContext): Promise<VerificationResult> {
    return this.domains.verify(id, context);
  }

  @Post('domains/:id/challenge')
  @HttpCode(200)
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.param('domain')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Issue a fresh challenge token; the old one stops counting' })
  @ApiOkResponse({ type: DomainResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  challenge(
    @IdParam('domain') id: string,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<DomainView>> {
    return this.domains.reissueChallenge(id, version, context);
  }

  @Post('domains/:id/override')
  @HttpCode(200)
  @Roles('admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({
    summary: 'Request an override: the domain counts as verified without DNS proof once another admin approves (status unchanged until then)',
  })
  @ApiOkResponse({ type: DomainResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'An override already waits, or another organization holds the domain verified', type: ProblemResponseDto })
  override(
    @IdParam('domain') id: string,
    @Body() body: OverrideDomainDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<DomainView>> {
    return this.overrides.request(id, body, version, context);
  }

  @Post('domains/:id/override/approve')
  @HttpCode(200)
  @Roles('admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Approve the requested override (another owner than the requester): the domain becomes verified by override' })
  @ApiOkResponse({ type: DomainResponseDto })
  @ApiForbiddenResponse({ description: 'The requester\'s own approval, with any of their keys', type: ProblemResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'No override waits, or another organization holds the domain verified', type: ProblemResponseDto })
  approveOverride(
    @IdParam('domain') id: string,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<DomainView>> {
    return this.overrides.approve(id, version, context);
  }

  @Post('domains/:id/override/reject')
  @HttpCode(200)
  @Roles('admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Reject the requested override, with a reason (another owner than the requester); the domain stays as it was' })
  @ApiOkResponse({ type: DomainResponseDto })
  @ApiForbiddenResponse({ description: 'The requester\'s own rejection, with any of their keys', type: ProblemResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'No override waits', type: ProblemResponseDto })
  rejectOverride(
    @IdParam('domain') id: string,
    @Body() body: DomainOverrideRejectionDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<DomainView>> {
    return this.overrides.reject(id, body.reason, version, context);
  }

  @Get('domains/:id/attempts')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('domain')
  @ApiOperation({ summary: 'Every look at the challenge record, newest first: time, resolvers, values seen, errors' })
  @ApiOkResponse({ type: DomainCheckPageDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  attempts(@IdParam('domain') id: string, @Query() query: PageQueryDto): Promise<Page<DomainCheckView>> {
    return this.domains.listChecks(id, query.limit, query.cursor);
  }
}
