import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'heloHostname' })
  field!: string;

  @ApiProperty({ example: 'must not contain empty labels' })
  message!: string;
}

/** RFC 9457 problem details, as every error is answered. */
export class ProblemResponseDto {
  @ApiProperty({ example: 'urn:helopass:problem:validation' })
  type!: string;

  @ApiProperty({ example: 'Invalid request' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiPropertyOptional({ example: 'heloHostname must not contain empty labels' })
  detail?: string;

  @ApiProperty({ example: '4b1f7c1e-3f2a-4d0e-9a55-0d1f3f3b2a10' })
  requestId!: string;

  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldErrorDto[];
}
