import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/list-query.dto.js';
import { FreeText, IsInstant, IsOptionalNonNull } from '../../common/validators.js';

export class ListAuditEventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'organization' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(64)
  entityType?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptionalNonNull()
  @IsUUID()
  entityId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptionalNonNull()
  @IsUUID()
  organizationId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The API key that made the change' })
  @IsOptionalNonNull()
  @IsUUID()
  actorId?: string;

  @ApiPropertyOptional({ example: 'alice@example.com', description: 'The person behind the key (any spelling of case)' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(254)
  actorOwner?: string;

  @ApiPropertyOptional({ example: 'exception.', description: 'An action (organization.suspended), or every action of a kind when it ends with a dot (exception.)' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(64)
  @Matches(/^[a-z_]+\.([a-z_]+)?$/, { message: 'action must look like entity.verb (organization.created) or entity. for all of a kind' })
  action?: string;

  @ApiPropertyOptional({ maxLength: 200, description: 'Words in a reason or justification (revoke, reject, override), in any case' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(200)
  @FreeText()
  q?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events at or after this instant' })
  @IsOptionalNonNull()
  @IsInstant()
  from?: Date;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events before this instant' })
  @IsOptionalNonNull()
  @IsInstant()
  to?: Date;
}

export class AuditActorDto {
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'API key id; null for the system' })
  id!: string | null;

  @ApiProperty({ example: 'jane (csr)' })
  name!: string;

  @ApiProperty({ example: 'csr', description: 'A role, or "system"' })
  role!: string;

  @ApiProperty({
    nullable: true,
    type: String,
    example: 'jane@example.com',
    description: 'The person behind the key (four eyes compares owners); null for the system',
  })
  owner!: string | null;
}

export class AuditEventResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  occurredAt!: Date;

  @ApiProperty({ type: AuditActorDto })
  actor!: AuditActorDto;

  @ApiProperty({ example: 'organization.created' })
  action!: string;

  @ApiProperty({ example: 'organization' })
  entityType!: string;

  @ApiProperty({ format: 'uuid' })
  entityId!: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  organizationId!: string | null;

  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true })
  before!: unknown;

  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true })
  after!: unknown;

  @ApiProperty({ nullable: true, type: String })
  requestId!: string | null;
}

export class AuditEventPageDto {
  @ApiProperty({ type: [AuditEventResponseDto] })
  items!: AuditEventResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}

export class AuditChainReportDto {
  @ApiProperty({ description: 'true when every link checked follows from its event and the link before it' })
  valid!: boolean;

  @ApiProperty({ description: 'Links checked by this verification, from fromPosition on, before the first broken one (or all)' })
  checked!: number;

  @ApiProperty({ description: 'Verification started after this position: 0 for the full check, a checkpoint\'s count when incremental' })
  fromPosition!: number;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  firstBrokenEventId!: string | null;

  @ApiProperty({ nullable: true, type: Number, description: 'Position of the first broken link' })
  brokenAtPosition!: number | null;

  @ApiProperty({
    nullable: true,
    type: String,
    enum: ['event_rewritten', 'link_mismatch', 'position_gap', 'event_missing', 'unchained_events'],
    description: 'What is wrong, null when nothing is',
  })
  problem!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'The same in a sentence' })
  detail!: string | null;

  @ApiProperty({ description: 'Position (= count of links) of the last link that verified' })
  lastPosition!: number;

  @ApiProperty({ description: 'Hash of the last link that verified: keep it (or a signed checkpoint) to prove later that history was not rewritten' })
  lastHash!: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  lastEventId!: string | null;

  @ApiProperty({ description: 'Events in neither the chain nor its queue (full check only)' })
  unchained!: number;
}

export class ExportAuditEventsQueryDto extends ListAuditEventsQueryDto {
  @ApiPropertyOptional({ enum: ['ndjson', 'csv'], default: 'ndjson' })
  @IsOptionalNonNull()
  @IsIn(['ndjson', 'csv'])
  format?: 'ndjson' | 'csv';
}

export class FieldChangeDto {
  @ApiProperty({ example: 'status' })
  field!: string;

  @ApiProperty({ nullable: true, description: 'The value before (null: not set)' })
  before!: unknown;

  @ApiProperty({ nullable: true, description: 'The value after (null: removed)' })
  after!: unknown;

  @ApiProperty({ example: 'status: "active" → "suspended"', description: 'The change in words' })
  text!: string;
}

export class HistoryEventResponseDto extends AuditEventResponseDto {
  @ApiProperty({ type: [FieldChangeDto], description: 'What the event changed, field by field (bookkeeping such as updatedAt left out)' })
  changes!: FieldChangeDto[];
}

export class ResourceStateQueryDto {
  @ApiProperty({ example: 'exception', description: 'The kind of resource, as audit events name it (organization, mail_server, domain, exception, api_key, …)' })
  @IsString()
  @MaxLength(64)
  @Matches(/^[a-z_]+$/, { message: 'entityType must be a resource kind such as exception or mail_server' })
  entityType!: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  entityId!: string;

  @ApiProperty({ format: 'date-time', description: 'The instant: the state the last event at or before it recorded' })
  @IsInstant()
  asOf!: Date;
}

export class ResourceStateResponseDto {
  @ApiProperty({ example: 'exception' })
  entityType!: string;

  @ApiProperty({ format: 'uuid' })
  entityId!: string;

  @ApiProperty({ format: 'date-time' })
  asOf!: Date;

  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: 'The resource as the last event at or before asOf left it (its `after`); null when it did not exist yet or had been deleted',
  })
  state!: unknown;

  @ApiProperty({ type: AuditEventResponseDto, nullable: true, description: 'That event; null when none came before asOf' })
  event!: AuditEventResponseDto | null;
}
