import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { PageQueryDto } from '../../common/list-query.dto.js';
import { FreeText, IsInstant, IsOptionalNonNull } from '../../common/validators.js';

const SCOPES = ['pair', 'ip', 'helo'] as const;
const STATUSES = ['pending_approval', 'active', 'suspended', 'revoked', 'expired', 'rejected'] as const;

export class GrantExceptionDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  mailServerId!: string;

  @ApiPropertyOptional({
    enum: SCOPES,
    default: 'pair',
    description: 'pair: HELO name and address must both match; ip: any HELO from its addresses; helo: that name from anywhere (admin-approved only)',
  })
  @IsOptionalNonNull()
  @IsIn(SCOPES)
  scope?: (typeof SCOPES)[number];

  @ApiProperty({ minLength: 3, maxLength: 2000, example: 'Exchange announces its internal name; fix scheduled for Q3' })
  @IsString()
  @MinLength(3)
  @MaxLength(2000)
  @FreeText()
  reason!: string;

  @ApiPropertyOptional({ maxLength: 100, example: 'CS-48213' })
  @IsOptionalNonNull()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  ticketRef?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Default: now' })
  @IsOptionalNonNull()
  @IsInstant()
  startsAt?: Date;

  @ApiPropertyOptional({ format: 'date-time', description: 'Default: 90 days after startsAt; at most EXCEPTION_MAX_DAYS from now' })
  @IsOptionalNonNull()
  @IsInstant()
  expiresAt?: Date;

  @ApiPropertyOptional({
    minLength: 10,
    maxLength: 2000,
    description:
      'Admins only: grant although ownership is not proven, or although the server is on a DNS blocklist (an override, which another admin must approve)',
  })
  @IsOptionalNonNull()
  @IsString()
  @MinLength(10)
  @MaxLength(2000)
  @FreeText()
  justification?: string;
}

export class DecisionReasonDto {
  @ApiProperty({ minLength: 3, maxLength: 2000 })
  @IsString()
  @MinLength(3)
  @MaxLength(2000)
  @FreeText()
  reason!: string;
}

export class ApproveExceptionDto {
  @ApiPropertyOptional({ minLength: 3, maxLength: 2000, description: "The approver's reason (optional): kept on the exception as approvalNote and in the audit event" })
  @IsOptionalNonNull()
  @IsString()
  @MinLength(3)
  @MaxLength(2000)
  @FreeText()
  reason?: string;
}

export class KeepExceptionDto {
  @ApiProperty({ minLength: 3, maxLength: 2000, description: 'Why it should run until its expiry although no longer needed' })
  @IsString()
  @MinLength(3)
  @MaxLength(2000)
  @FreeText()
  reason!: string;
}

export class RenewExceptionDto {
  @ApiProperty({ format: 'date-time', description: 'The new end; later than the current one, at most EXCEPTION_MAX_DAYS from now' })
  @IsInstant()
  expiresAt!: Date;
}

export class ListExceptionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptionalNonNull()
  @IsUUID()
  organizationId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptionalNonNull()
  @IsUUID()
  mailServerId?: string;

  @ApiPropertyOptional({ enum: STATUSES, description: 'As it is now (an exception past its expiry is expired)' })
  @IsOptionalNonNull()
  @IsIn(STATUSES)
  status?: (typeof STATUSES)[number];

  @ApiPropertyOptional({ enum: SCOPES })
  @IsOptionalNonNull()
  @IsIn(SCOPES)
  scope?: (typeof SCOPES)[number];

  @ApiPropertyOptional({ description: 'HELO name (compared normalized)' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(254)
  helo?: string;

  @ApiPropertyOptional({ description: 'Exceptions whose addresses contain this address or prefix' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(64)
  address?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'In effect at this instant' })
  @IsOptionalNonNull()
  @IsInstant()
  activeAt?: Date;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptionalNonNull()
  @IsInstant()
  expiresBefore?: Date;

  @ApiPropertyOptional({ format: 'uuid', description: 'The API key that requested it' })
  @IsOptionalNonNull()
  @IsUUID()
  requestedBy?: string;

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'true: only what waits for a second person — pending grants, and running exceptions with a renewal waiting for approval',
  })
  @IsOptionalNonNull()
  @IsIn(['true', 'false'])
  awaitingApproval?: 'true' | 'false';

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Not matched by a policy server since this instant (lastMatchedAt before it, or never matched)',
  })
  @IsOptionalNonNull()
  @IsInstant()
  unusedSince?: Date;
}

const SUSPENSION_CAUSES = ['organization', 'domain', 'blocklist'];

export class RenewalDto {
  @ApiProperty({ format: 'date-time' })
  expiresAt!: Date;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  requestedBy!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'The person who asked: another owner must approve' })
  requestedByOwner!: string | null;

  @ApiProperty({ type: [String], description: 'Why it needs a second person (the four-eyes reasons, as for a grant)' })
  approvalReasons!: string[];
}

export class KeptUntilExpiryDto {
  @ApiProperty() reason!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The API key that chose to keep it' }) by!: string | null;
  @ApiProperty({ nullable: true, type: String }) byOwner!: string | null;
  @ApiProperty({ format: 'date-time' }) at!: Date;
}

export class ExceptionResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) organizationId!: string;
  @ApiProperty({ format: 'uuid' }) mailServerId!: string;
  @ApiProperty({ enum: SCOPES }) scope!: string;
  @ApiProperty({ enum: STATUSES, description: 'True at the instant it is read' }) status!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ nullable: true, type: String }) ticketRef!: string | null;
  @ApiProperty({ format: 'date-time' }) startsAt!: Date;
  @ApiProperty({ format: 'date-time' }) expiresAt!: Date;
  @ApiProperty({ description: 'The HELO name covered (copied from the server at grant time)' }) heloHostname!: string;
  @ApiProperty({ type: [String], description: 'The addresses covered (copied at grant time)' }) addresses!: string[];
  @ApiProperty({ description: 'Granted without proof of ownership' }) override!: boolean;
  @ApiProperty({ nullable: true, type: String }) justification!: string | null;
  @ApiProperty({
    type: [String],
    description:
      'Why it needed a second person: override, helo_scope, spf_only (addresses proven by SPF alone), wide_prefix, long_duration, blocklisted (granted over a DNS blocklist listing), customer_request (asked for with a customer key: always decided by a CSR)',
  })
  approvalReasons!: string[];
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The ownership evidence at grant time' })
  evidence!: unknown;
  @ApiProperty({ format: 'uuid', description: 'The API key that requested it' }) requestedBy!: string;
  @ApiProperty({ description: 'The person behind that key: four eyes compares owners' }) requestedByOwner!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) approvedBy!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Another owner than the requester' }) approvedByOwner!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date }) approvedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String, description: "The approver's reason, when one was given" }) approvalNote!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) rejectedBy!: string | null;
  @ApiProperty({ nullable: true, type: String }) rejectedByOwner!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date }) rejectedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String }) rejectionReason!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) revokedBy!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date }) revokedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String }) revokeReason!: string | null;
  @ApiProperty({ nullable: true, type: String, enum: SUSPENSION_CAUSES, description: 'The first of suspensionCauses' })
  suspensionCause!: string | null;
  @ApiProperty({
    type: [String],
    enum: SUSPENSION_CAUSES,
    description: 'What keeps it suspended; several may hold, and it is restored only when none does',
  })
  suspensionCauses!: string[];
  @ApiProperty({ format: 'date-time', nullable: true, type: Date, description: 'The last DNS blocklist check' })
  blocklistCheckedAt!: Date | null;
  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: 'What the last blocklist check found: zones asked, prefixes covered (partial for wide ones), listed and unknown lookups',
  })
  blocklistResult!: unknown;
  @ApiProperty({
    type: 'array',
    nullable: true,
    items: { type: 'object', additionalProperties: true },
    description: 'The listings an admin override accepted at grant time (subject, zone, answers); these never suspend it',
  })
  blocklistAccepted!: unknown;
  @ApiPropertyOptional({ type: RenewalDto, nullable: true, description: 'A renewal waiting for approval' })
  renewal!: RenewalDto | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date }) lastMatchedAt!: Date | null;
  @ApiProperty() matchCount!: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date, description: 'When its HELO name was last looked up (self-healing)' })
  heloCheckedAt!: Date | null;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: Date,
    description: 'Since when the HELO name passes Postfix\'s checks by itself (null until then); after SELF_HEALING_GRACE_DAYS the worker revokes it unless kept',
  })
  noLongerNeededSince!: Date | null;
  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: 'What was seen when it first passed: the A, AAAA and MX answers (status, records, resolver) and when',
  })
  noLongerNeededEvidence!: unknown;
  @ApiProperty({ type: KeptUntilExpiryDto, nullable: true, description: 'A person chose to keep it until its expiry although it is no longer needed' })
  keptUntilExpiry!: KeptUntilExpiryDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt!: Date;
}

export class ExceptionPageDto {
  @ApiProperty({ type: [ExceptionResponseDto] })
  items!: ExceptionResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
