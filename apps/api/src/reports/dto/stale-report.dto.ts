import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, Max, Min } from 'class-validator';
import { PageQueryDto } from '../../common/list-query.dto.js';
import { IsOptionalNonNull } from '../../common/validators.js';

export class StaleReportQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 3650, description: 'Days without a match; STALE_EXCEPTION_UNUSED_DAYS (45) when absent', example: 45 })
  @IsOptionalNonNull()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3650)
  unusedDays?: number;

  @ApiPropertyOptional({
    enum: ['json', 'csv'],
    description: 'csv: the whole report as text/csv (no paging; also chosen by Accept: text/csv). Cells a spreadsheet would read as formulas start with an apostrophe',
  })
  @IsOptionalNonNull()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

export class StaleExceptionDto {
  @ApiProperty({ format: 'uuid', description: 'The exception' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  organizationId!: string;

  @ApiProperty()
  organizationName!: string;

  @ApiProperty({ nullable: true, type: String })
  customerRef!: string | null;

  @ApiProperty({ type: [String], description: "The organization's technical contacts" })
  technicalContacts!: string[];

  @ApiProperty({ format: 'uuid' })
  mailServerId!: string;

  @ApiProperty()
  heloHostname!: string;

  @ApiProperty({ type: [String] })
  addresses!: string[];

  @ApiProperty({ enum: ['pair', 'ip', 'helo'] })
  scope!: string;

  @ApiProperty({ format: 'date-time' })
  startsAt!: Date;

  @ApiProperty({ format: 'date-time' })
  expiresAt!: Date;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date, description: 'As the policy server last reported it; null: never matched' })
  lastMatchedAt!: Date | null;

  @ApiProperty()
  matchCount!: number;

  @ApiProperty({ format: 'date-time', description: 'The last match, or the start when never matched' })
  unusedSince!: Date;

  @ApiProperty({ description: 'Whole days since unusedSince' })
  unusedDays!: number;

  @ApiProperty({ description: 'Who asked for it' })
  requestedByOwner!: string;

  @ApiProperty({ nullable: true, type: String, description: 'Who approved it, when it needed approval' })
  approvedByOwner!: string | null;
}

export class StaleReportDto {
  @ApiProperty()
  unusedDays!: number;

  @ApiProperty({ format: 'date-time' })
  asOf!: Date;

  @ApiProperty({ type: [StaleExceptionDto], description: 'Longest unused first' })
  items!: StaleExceptionDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
