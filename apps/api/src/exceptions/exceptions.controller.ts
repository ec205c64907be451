import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { NotFoundError, type Page, type Versioned } from '@app/domain';
import { ExceptionChecksService, ExceptionDecisionsService, ExceptionsService, type CheckOutcome, type ExceptionView } from '@app/exceptions';
import { AuditEventsService, type HistoryEventView } from '../audit-events/audit-events.service.js';
import { HistoryEventResponseDto } from '../audit-events/dto/audit-event.dto.js';
import { ApiWrite } from '../common/api-write.decorator.js';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { toProblem } from '../common/problem.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { CustomerScope } from '../common/customer-scope.decorator.js';
import { Roles } from '../common/roles.decorator.js';
import { IfMatch } from '../common/versioned.js';
import { ExceptionCheckResponseDto } from './dto/exception-check.dto.js';
import { GrantPreviewDto, GrantPreviewResponseDto } from './dto/grant-preview.dto.js';
import {
  ApproveExceptionDto,
  DecisionReasonDto,
  ExceptionPageDto,
  ExceptionResponseDto,
  GrantExceptionDto,
  ListExceptionsQueryDto,
  KeepExceptionDto,
  RenewExceptionDto,
} from './dto/exception.dto.js';
import { ExceptionQueries } from './exception-queries.js';

const FOUR_EYES = {
  description: 'Deciding one\'s own request (with any key of the same owner), or a csr deciding an override or helo exception',
  type: ProblemResponseDto,
};
const RECHECK = {
  description: 'The mail server no longer announces or holds what was granted, or the proof the scope needs is gone',
  type: ProblemResponseDto,
};

@ApiTags('exceptions')
@Controller('v1/exceptions')
export class ExceptionsController {
  constructor(
    private readonly exceptions: ExceptionsService,
    private readonly decisions: ExceptionDecisionsService,
    private readonly checks: ExceptionChecksService,
    private readonly queries: ExceptionQueries,
    private readonly audit: AuditEventsService,
  ) {}

  @Post()
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.body('mail server', 'mailServerId')
  @ApiWrite()
  @ApiOperation({ summary: 'Grant an exception (active at once, or pending a second person\'s approval)' })
  @ApiCreatedResponse({ type: ExceptionResponseDto })
  @ApiNotFoundResponse({ description: 'No such mail server', type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'The server already has a running exception of this scope', type: ProblemResponseDto })
  grant(@Body() body: GrantExceptionDto, @Context() context: RequestContext): Promise<Versioned<ExceptionView>> {
    return this.exceptions.grant(body, context);
  }

  @Post('preview')
  @HttpCode(200)
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.body('mail server', 'mailServerId')
  @ApiOperation({
    summary:
      'What a grant with this body would do now, writing nothing: every rule of POST /v1/exceptions (ownership from DNS, blocklists, ' +
      'four-eyes reasons, a running exception of the scope) applied as the grant would, answering active, pending_approval with its reasons, or refused with the problem',
  })
  @ApiOkResponse({ type: GrantPreviewResponseDto })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields', type: ProblemResponseDto })
  @ApiNotFoundResponse({ description: 'No such mail server', type: ProblemResponseDto })
  async preview(@Body() body: GrantPreviewDto, @Context() context: RequestContext): Promise<GrantPreviewResponseDto> {
    const { refusal, ...preview } = await this.exceptions.preview({ ...body, reason: body.reason ?? '' }, context);
    // An unknown (or foreign) server is this request's own problem, not a refusal of the grant.
    if (refusal instanceof NotFoundError) {
      throw refusal;
    }
    return { ...preview, problem: refusal === null ? null : (toProblem(refusal, context.requestId).problem as ProblemResponseDto) };
  }

  @Get()
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.listed()
  @ApiOperation({ summary: 'List exceptions, newest first, by organization, server, status, scope, HELO, address, time, requester' })
  @ApiOkResponse({ type: ExceptionPageDto })
  list(@Query() query: ListExceptionsQueryDto, @Context() context: RequestContext): Promise<Page<ExceptionView>> {
    return this.queries.list({ ...query, organizationId: context.scope.listFilter(query.organizationId) } as ListExceptionsQueryDto);
  }

  @Get(':id')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('exception')
  @ApiOperation({ summary: 'One exception (with its ETag); its status is true at the instant it is read' })
  @ApiOkResponse({ type: ExceptionResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  get(@IdParam('exception') id: string): Promise<Versioned<ExceptionView>> {
    return this.exceptions.get(id);
  }

  @Get(':id/history')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('exception')
  @ApiOperation({ summary: 'Every audit event of the exception, oldest first, each with what changed' })
  @ApiOkResponse({ type: [HistoryEventResponseDto] })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  async history(@IdParam('exception') id: string): Promise<HistoryEventView[]> {
    await this.exceptions.get(id);
    return this.audit.history('exception', id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({
    summary:
      'Approve a pending grant or renewal (another owner than the requester; admin for overrides and helo), with an optional reason; re-checks the server and its proof first',
  })
  @ApiOkResponse({ type: ExceptionResponseDto })
  @ApiForbiddenResponse(FOUR_EYES)
  @ApiUnprocessableEntityResponse(RECHECK)
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Not waiting for approval', type: ProblemResponseDto })
  approve(
    @IdParam('exception') id: string,
    @Body() body: ApproveExceptionDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<ExceptionView>> {
    return this.decisions.approve(id, version, context, body.reason);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Reject a pending grant or renewal, with a reason' })
  @ApiOkResponse({ type: ExceptionResponseDto })
  @ApiForbiddenResponse(FOUR_EYES)
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Not waiting for approval', type: ProblemResponseDto })
  reject(
    @IdParam('exception') id: string,
    @Body() body: DecisionReasonDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<ExceptionView>> {
    return this.decisions.reject(id, body.reason, version, context);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'End an exception now, with a reason; it leaves the allowlist at once' })
  @ApiOkResponse({ type: ExceptionResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Already ended', type: ProblemResponseDto })
  revoke(
    @IdParam('exception') id: string,
    @Body() body: DecisionReasonDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<ExceptionView>> {
    return this.decisions.revoke(id, body.reason, version, context);
  }

  @Post(':id/renew')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Extend expiresAt within the maximum (may need approval by the same rules as a grant)' })
  @ApiOkResponse({ type: ExceptionResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Ended', type: ProblemResponseDto })
  renew(
    @IdParam('exception') id: string,
    @Body() body: RenewExceptionDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<ExceptionView>> {
    return this.decisions.renew(id, body.expiresAt, version, context);
  }

  @Post(':id/keep')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({
    summary: 'Keep a running exception until its expiry although its HELO name passes by itself (self-healing then never revokes it), with a reason',
  })
  @ApiOkResponse({ type: ExceptionResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Ended: nothing to keep', type: ProblemResponseDto })
  keep(
    @IdParam('exception') id: string,
    @Body() body: KeepExceptionDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<ExceptionView>> {
    return this.decisions.keepUntilExpiry(id, body.reason, version, context);
  }

  @Post(':id/recheck')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite()
  @ApiOperation({
    summary:
      "Run the exception's scheduled checks now — the DNS blocklists (a listing suspends it, a clean check lifts that) and its HELO name (self-healing: passing Postfix's checks by itself marks it no longer needed) — and answer what they found",
  })
  @ApiOkResponse({ type: ExceptionCheckResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'Ended: nothing to check', type: ProblemResponseDto })
  recheck(@IdParam('exception') id: string, @Context() context: RequestContext): Promise<CheckOutcome> {
    return this.checks.recheck(id, context);
  }
}
