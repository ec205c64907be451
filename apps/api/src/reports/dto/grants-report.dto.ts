import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { IsInstant, IsOptionalNonNull } from '../../common/validators.js';

export class GrantsReportQueryDto {
  @ApiProperty({ format: 'date-time', description: 'Start of the range (inclusive)' })
  @IsInstant()
  from!: Date;

  @ApiProperty({ format: 'date-time', description: 'End of the range (exclusive)' })
  @IsInstant()
  to!: Date;

  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' })
  @IsOptionalNonNull()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

export class GrantsReportDto {
  @ApiProperty({ format: 'date-time' })
  from!: Date;

  @ApiProperty({ format: 'date-time' })
  to!: Date;

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description:
      'One per exception in force at any moment of the range: exceptionId, organization {id, name, customerRef}, mailServer {id, heloHostname}, scope, heloHostname, addresses, proofAtGrant, override, justification, requestedBy {name, owner}, approvedBy {owner}, approvalReasons, reason, ticketRef, startsAt, endsAt, ending (still_active, suspended, expired, revoked), revokeReason, usage {matchCount, lastMatchedAt}',
  })
  items!: unknown[];

  @ApiProperty({ description: 'More than 10,000 rows: ask for CSV to have them all' })
  truncated!: boolean;
}
