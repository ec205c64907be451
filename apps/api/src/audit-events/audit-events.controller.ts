import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { AuditChainReport, CheckpointPublication, CheckpointVerification, StoredAuditCheckpoint } from '@app/database';
import type { Page } from '@app/domain';
import { PageQueryDto } from '../common/list-query.dto.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { Roles } from '../common/roles.decorator.js';
import {
  AuditCheckpointPageDto,
  CheckpointVerificationDto,
  CreatedAuditCheckpointDto,
  VerifyAuditQueryDto,
} from './dto/audit-checkpoint.dto.js';
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
  @ApiExtraModels(AuditChainReportDto, CheckpointVerificationDto)
  @ApiOperation({
    summary: 'Verify the hash chain: from the last checkpoint on (mode=incremental), every link (mode=full), or against a checkpoint kept elsewhere',
  })
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(AuditChainReportDto) }, { $ref: getSchemaPath(CheckpointVerificationDto) }] } })
  verify(@Query() query: VerifyAuditQueryDto): Promise<AuditChainReport | CheckpointVerification> {
    return this.events.verify(query.mode, query.checkpoint);
  }

  @Post('checkpoints')
  @HttpCode(201)
  @Roles('admin')
  @ApiOperation({ summary: 'Sign a checkpoint of the chain\'s head now, store it and push it to the copies outside the database' })
  @ApiCreatedResponse({ type: CreatedAuditCheckpointDto })
  createCheckpoint(@Context() context: RequestContext): Promise<{ checkpoint: StoredAuditCheckpoint; published: CheckpointPublication }> {
    return this.events.createCheckpoint(context.actor);
  }

  @Get('checkpoints')
  @Roles('auditor', 'admin')
  @ApiOperation({ summary: 'Signed checkpoints, newest first' })
  @ApiOkResponse({ type: AuditCheckpointPageDto })
  listCheckpoints(@Query() query: PageQueryDto): Promise<Page<StoredAuditCheckpoint>> {
    return this.events.listCheckpoints(query.limit, query.cursor);
  }
}
