import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, IsUUID, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { FreeText } from '../../common/validators.js';
import { ProblemResponseDto } from '../../common/problem.dto.js';
import { ExceptionResponseDto } from './exception.dto.js';

/** Decisions one request may carry: bounded so that one request stays within a request's time. */
export const BULK_DECISIONS_MAX = 500;

export class BulkDecisionsDto {
  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: BULK_DECISIONS_MAX, description: 'The exceptions to decide, each once' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BULK_DECISIONS_MAX)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  ids!: string[];

  @ApiProperty({ enum: ['approve', 'reject'] })
  @IsIn(['approve', 'reject'])
  decision!: 'approve' | 'reject';

  @ApiPropertyOptional({
    minLength: 3,
    maxLength: 2000,
    description:
      'Required to reject, optional to approve; recorded on each decided exception as a single decision records it (rejectionReason or approvalNote; a renewal\'s in its audit event)',
  })
  @ValidateIf((body: BulkDecisionsDto) => body.decision === 'reject' || body.reason !== undefined)
  @IsString()
  @MinLength(3)
  @MaxLength(2000)
  @FreeText()
  reason?: string;
}

export class BulkDecisionOutcomeDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: ['approved', 'rejected', 'failed'], description: 'What happened to this exception' })
  outcome!: 'approved' | 'rejected' | 'failed';

  @ApiPropertyOptional({ type: ExceptionResponseDto, description: 'The exception after the decision' })
  exception?: ExceptionResponseDto;

  @ApiPropertyOptional({ type: ProblemResponseDto, description: 'Why it was not decided: the problem a single decision would have answered' })
  problem?: ProblemResponseDto;
}

export class BulkDecisionsResponseDto {
  @ApiProperty({ type: [BulkDecisionOutcomeDto], description: 'One outcome per id, in the order given' })
  results!: BulkDecisionOutcomeDto[];

  @ApiProperty({ example: { approved: 2, rejected: 0, failed: 1 } })
  summary!: { approved: number; rejected: number; failed: number };
}
