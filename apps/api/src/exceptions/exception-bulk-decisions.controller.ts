import { Body, Controller, HttpCode, HttpException, Logger, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import pLimit from 'p-limit';
import { DomainError } from '@app/domain';
import { ExceptionDecisionsService } from '@app/exceptions';
import { ApiWrite } from '../common/api-write.decorator.js';
import { toProblem } from '../common/problem.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { Roles } from '../common/roles.decorator.js';
import { BULK_DECISIONS_MAX, BulkDecisionsDto, BulkDecisionsResponseDto, type BulkDecisionOutcomeDto } from './dto/bulk-decisions.dto.js';

/** Decisions made at once: each re-checks DNS like a single approval, so a few run side by side, not all. */
const CONCURRENT_DECISIONS = 4;

@ApiTags('exceptions')
@Controller('v1/exceptions/bulk-decisions')
export class ExceptionBulkDecisionsController {
  private readonly logger = new Logger('BulkDecisions');

  constructor(private readonly decisions: ExceptionDecisionsService) {}

  @Post()
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite()
  @ApiOperation({
    summary:
      `Approve or reject up to ${BULK_DECISIONS_MAX} pending exceptions at once. Each is decided exactly as a single approve or reject ` +
      '(four eyes, admin-only scopes, the server and proof re-checked, blocklists; pending grants and pending renewals alike), in its own transaction, ' +
      'the reason recorded on each as a single decision records it; ' +
      'one refused does not stop the others. Answers each outcome, with the problem a single decision would have answered.',
  })
  @ApiOkResponse({ type: BulkDecisionsResponseDto })
  async decide(@Body() body: BulkDecisionsDto, @Context() context: RequestContext): Promise<BulkDecisionsResponseDto> {
    const limit = pLimit(CONCURRENT_DECISIONS);
    const results = await Promise.all(body.ids.map((id) => limit(() => this.decideOne(id, body, context))));
    const summary = { approved: 0, rejected: 0, failed: 0 };
    for (const result of results) {
      summary[result.outcome] += 1;
    }
    this.logger.log({ requestId: context.requestId, decision: body.decision, ...summary }, 'bulk decision');
    return { results, summary };
  }

  private async decideOne(id: string, body: BulkDecisionsDto, context: RequestContext): Promise<BulkDecisionOutcomeDto> {
    try {
      const decided =
        body.decision === 'approve'
          ? await this.decisions.approve(id, undefined, context, body.reason)
          : await this.decisions.reject(id, body.reason!, undefined, context);
      return {
        id,
        outcome: body.decision === 'approve' ? 'approved' : 'rejected',
        exception: decided.value as unknown as BulkDecisionOutcomeDto['exception'],
      };
    } catch (error) {
      // A rule's refusal is this exception's outcome; anything else (the database gone) fails the request.
      if (!(error instanceof DomainError) && !(error instanceof HttpException && error.getStatus() < 500)) {
        throw error;
      }
      return { id, outcome: 'failed', problem: toProblem(error, context.requestId).problem as BulkDecisionOutcomeDto['problem'] };
    }
  }
}
