import { Controller, Get } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CustomerScope } from '../common/customer-scope.decorator.js';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Roles } from '../common/roles.decorator.js';
import { AuditEventsService, type HistoryEventView } from './audit-events.service.js';
import { HistoryEventResponseDto } from './dto/audit-event.dto.js';

/** Timelines of one resource from the audit trail: what an auditor or a CSR asks "what happened to it, and who did it". */
@ApiTags('audit')
@Controller('v1')
export class ResourceHistoryController {
  constructor(private readonly events: AuditEventsService) {}

  @Get('organizations/:id/history')
  @Roles('csr', 'auditor', 'admin', 'customer')
  @CustomerScope.param('organization')
  @ApiOperation({ summary: 'Every audit event of the organization, oldest first, each with what changed' })
  @ApiOkResponse({ type: [HistoryEventResponseDto] })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  organization(@IdParam('organization') id: string): Promise<HistoryEventView[]> {
    return this.events.resourceHistory('organization', id);
  }

  @Get('mail-servers/:id/history')
  @Roles('csr', 'auditor', 'admin', 'customer')
  @CustomerScope.param('mail server')
  @ApiOperation({ summary: 'Every audit event of the mail server, oldest first, each with what changed' })
  @ApiOkResponse({ type: [HistoryEventResponseDto] })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  mailServer(@IdParam('mail server') id: string): Promise<HistoryEventView[]> {
    return this.events.resourceHistory('mail_server', id);
  }

  @Get('domains/:id/history')
  @Roles('csr', 'auditor', 'admin', 'customer')
  @CustomerScope.param('domain')
  @ApiOperation({ summary: 'Every audit event of the domain, oldest first, each with what changed' })
  @ApiOkResponse({ type: [HistoryEventResponseDto] })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  domain(@IdParam('domain') id: string): Promise<HistoryEventView[]> {
    return this.events.resourceHistory('domain', id);
  }
}
