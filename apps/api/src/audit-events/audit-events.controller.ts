import { Readable } from 'node:stream';
import { Controller, Get, HttpCode, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiCreatedResponse, ApiExtraModels, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { ProblemResponseDto } from '../common/problem.dto.js';
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
import {
  AuditChainReportDto,
  AuditEventPageDto,
  ExportAuditEventsQueryDto,
  ListAuditEventsQueryDto,
  ResourceStateQueryDto,
  ResourceStateResponseDto,
} from './dto/audit-event.dto.js';
import { AuditEventsService, type AuditEventView, type ResourceStateView } from './audit-events.service.js';

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

  @Get('export')
  @Roles('auditor', 'admin')
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiOperation({
    summary: 'The trail as a file, streamed, oldest first in chain order, each event with position, prevHash and hash (the list\'s filters apply)',
  })
  @ApiOkResponse({ description: 'NDJSON (one event a line) or CSV (formula-safe), as an attachment' })
  export(@Query() query: ExportAuditEventsQueryDto): StreamableFile {
    const { format = 'ndjson', limit: _limit, cursor: _cursor, ...filter } = query;
    const lines = this.events.exportLines(filter, format);
    return new StreamableFile(Readable.from(lines), {
      type: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      disposition: `attachment; filename="audit-events.${format === 'csv' ? 'csv' : 'ndjson'}"`,
    });
  }

  @Get('state')
  @Roles('auditor', 'admin')
  @ApiOperation({ summary: 'Any resource as it stood at an instant (asOf): what the last audit event at or before it recorded' })
  @ApiOkResponse({ type: ResourceStateResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  state(@Query() query: ResourceStateQueryDto): Promise<ResourceStateView> {
    return this.events.stateAt(query.entityType, query.entityId, query.asOf);
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
