import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { ProblemResponseDto } from '../../common/problem.dto.js';
import { FreeText, IsOptionalNonNull } from '../../common/validators.js';
import { GrantExceptionDto } from './exception.dto.js';

/** A grant's body, checked the same way; the reason may still be missing (a form asks before it is typed). */
export class GrantPreviewDto extends OmitType(GrantExceptionDto, ['reason'] as const) {
  @ApiPropertyOptional({ minLength: 3, maxLength: 2000, description: 'As for a grant; it changes nothing in the answer' })
  @IsOptionalNonNull()
  @IsString()
  @MinLength(3)
  @MaxLength(2000)
  @FreeText()
  reason?: string;
}

export class GrantPreviewResponseDto {
  @ApiProperty({
    enum: ['active', 'pending_approval', 'refused'],
    description: 'What POST /v1/exceptions with this body would do now: grant at once, wait for a second person, or refuse',
  })
  outcome!: 'active' | 'pending_approval' | 'refused';

  @ApiPropertyOptional({ type: ProblemResponseDto, nullable: true, description: 'The problem the grant would answer (the first it meets), when refused' })
  problem!: ProblemResponseDto | null;

  @ApiProperty({ enum: ['pair', 'ip', 'helo'] }) scope!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date, description: 'Null when the window itself is the problem' }) startsAt!: Date | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date }) expiresAt!: Date | null;

  @ApiProperty({
    type: [String],
    description:
      'Why it would wait for a second person (override, helo_scope, spf_only, wide_prefix, long_duration, blocklisted, customer_request); ' +
      'worked out even when refused, as the grant would be once its problem is fixed (a justification given, say)',
  })
  approvalReasons!: string[];

  @ApiProperty({ description: 'Only an admin may approve it (an override, a helo exception, a blocklisted server)' })
  adminApproval!: boolean;

  @ApiProperty({ description: 'Proof is missing or the server is on a DNS blocklist: only an admin with a justification can grant it' })
  justificationNeeded!: boolean;

  @ApiProperty({ type: [String], description: 'What the scope needs proven and is not, one line each' })
  missingProof!: string[];

  @ApiProperty({ nullable: true, type: String, description: 'The DNS blocklist listings against the server, in words' })
  blocklistListings!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The ownership evidence, fresh from DNS (as the grant would record it)' })
  evidence!: unknown;
}
