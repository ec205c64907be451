import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength, MinLength } from 'class-validator';
import { FreeText, IsInstant } from '../../common/validators.js';

export class CreateDomainDto {
  @ApiProperty({ maxLength: 254, example: 'example.com', description: 'A domain the organization controls (not a public suffix)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  name!: string;
}

export class OverrideDomainDto {
  @ApiProperty({ minLength: 10, maxLength: 2000, description: 'Why the domain is taken as verified without DNS proof' })
  @IsString()
  @MinLength(10)
  @MaxLength(2000)
  @FreeText()
  justification!: string;

  @ApiProperty({ format: 'date-time', description: 'When the override ends (at most 365 days ahead)' })
  @IsInstant()
  expiresAt!: Date;
}

export class DomainOverrideRejectionDto {
  @ApiProperty({ minLength: 3, maxLength: 2000, description: 'Why the override is refused' })
  @IsString()
  @MinLength(3)
  @MaxLength(2000)
  @FreeText()
  reason!: string;
}

export class ChallengeDto {
  @ApiProperty({ example: '_mailmax-challenge.example.com' })
  recordName!: string;

  @ApiProperty({ enum: ['TXT'] })
  recordType!: 'TXT';

  @ApiProperty({ example: 'mailmax-verification=4f9c2a…' })
  recordValue!: string;

  @ApiProperty({ format: 'date-time' })
  expiresAt!: Date;
}

export class DomainOverrideDto {
  @ApiProperty()
  justification!: string;

  @ApiProperty({ format: 'date-time' })
  expiresAt!: Date;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The admin key that requested it' })
  by!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'The person behind that key (null for an override made before owners existed)' })
  owner!: string | null;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The admin key that approved it (another owner)' })
  approvedBy!: string | null;

  @ApiProperty({ nullable: true, type: String })
  approvedByOwner!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  approvedAt!: Date | null;

  @ApiProperty({ description: 'Still in force' })
  active!: boolean;
}

export class PendingDomainOverrideDto {
  @ApiProperty()
  justification!: string;

  @ApiProperty({ format: 'date-time', description: 'When the override would end' })
  expiresAt!: Date;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The admin key that requested it' })
  requestedBy!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'The person behind that key: another owner must approve' })
  requestedByOwner!: string | null;

  @ApiProperty({ format: 'date-time' })
  requestedAt!: Date;
}

export class DomainResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  organizationId!: string;

  @ApiProperty({ example: 'example.com' })
  name!: string;

  @ApiProperty({ enum: ['pending', 'verified', 'lapsed', 'failed'] })
  status!: string;

  @ApiProperty({ type: ChallengeDto, description: 'The TXT record the customer must publish' })
  challenge!: ChallengeDto;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  verifiedAt!: Date | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  lastCheckedAt!: Date | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date, description: 'When the worker looks next' })
  nextCheckAt!: Date | null;

  @ApiPropertyOptional({ type: DomainOverrideDto, nullable: true, description: 'The approved override (in force while active)' })
  override!: DomainOverrideDto | null;

  @ApiPropertyOptional({ type: PendingDomainOverrideDto, nullable: true, description: 'An override waiting for another admin\'s approval' })
  pendingOverride!: PendingDomainOverrideDto | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: Date;
}

export class ResolverFindingDto {
  @ApiProperty({ example: '192.0.2.53:53' })
  resolver!: string;

  @ApiProperty({ enum: ['ok', 'nxdomain', 'nodata', 'timeout', 'servfail', 'refused', 'error'] })
  status!: string;

  @ApiProperty({ type: [String], description: 'TXT values seen (multi-string records joined)' })
  values!: string[];

  @ApiProperty()
  matched!: boolean;

  @ApiProperty({ nullable: true, type: String })
  error!: string | null;
}

export class DomainCheckResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  checkedAt!: Date;

  @ApiProperty({ enum: ['verify', 'retry', 'recheck'] })
  trigger!: string;

  @ApiProperty({ enum: ['match', 'mismatch', 'absent', 'disagreement', 'unreachable', 'expired'] })
  outcome!: string;

  @ApiProperty()
  recordName!: string;

  @ApiProperty({ type: [ResolverFindingDto] })
  resolvers!: ResolverFindingDto[];

  @ApiProperty({ enum: ['pending', 'verified', 'lapsed', 'failed'] })
  statusBefore!: string;

  @ApiProperty({ enum: ['pending', 'verified', 'lapsed', 'failed'] })
  statusAfter!: string;

  @ApiProperty({ description: 'What to tell the customer' })
  detail!: string;
}

export class VerificationResponseDto {
  @ApiProperty({ type: DomainResponseDto })
  domain!: DomainResponseDto;

  @ApiProperty({ type: DomainCheckResponseDto })
  check!: DomainCheckResponseDto;
}

export class DomainPageDto {
  @ApiProperty({ type: [DomainResponseDto] })
  items!: DomainResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}

export class DomainCheckPageDto {
  @ApiProperty({ type: [DomainCheckResponseDto] })
  items!: DomainCheckResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
