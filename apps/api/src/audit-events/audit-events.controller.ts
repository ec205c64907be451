import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditChainReport } from '@app/database';
import type { Page } from '@app/domain';
import { Roles } from '../common/roles.decorator.js';
import { AuditChainReportDto, AuditEventPageDto, ListAuditEventsQueryDto } from './dto/audit-event.dto.js';
import { AuditEventsService, type AuditEventView } from './audit-events.service.js';

@ApiTags('audit')
@Controller('v1/audit-events')
export class AuditEventsController {
  constructor(private readonly events: AuditEventsService) {}

  @Get()
  @Roles('auditor', 'admin')
  @ApiOperation({ summary: 'Audit events, newest first, filtered by entity, organization, actor, action and time' })
  @ApiOkResponse({ type: AuditEventPageDto })
  list(@Query() query: ListAuditEventsQueryDto): Promise<Page<AuditEventView>> {
    return this.events.list(query, query.limit, query.cursor);
  }

  @Get('verify')
  @Roles('auditor', 'admin')
  @ApiOperation({ summary: 'Recompute the hash chain over every event' })
  @ApiOkResponse({ type: AuditChainReportDto })
  verify(): Promise<AuditChainReport> {
    return this.events.verify();
  }
}
