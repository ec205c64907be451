import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, IsUUID, MaxLength } from 'class-validator';
import { OWNER_MAX_LENGTH, ROLES, type Role } from '@app/domain';
import { IsInstant, IsOptionalNonNull } from '../../common/validators.js';

export class CreateApiKeyDto {
  @ApiProperty({ maxLength: 100, example: 'postfix mx1' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({
    maxLength: OWNER_MAX_LENGTH,
    example: 'jane@example.com',
    description:
      'The person behind the key: an e-mail address or directory handle, stored lowercased. Required for admin, csr, auditor and customer keys ' +
      '(four eyes compares owners: two keys of one person approve nothing of each other); a filter key may name the host it serves.',
  })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(OWNER_MAX_LENGTH)
  owner?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'When the key stops working; never when absent' })
  @IsOptionalNonNull()
  @IsInstant()
  expiresAt?: Date;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Required for a customer key, refused for any other: the one organization the key may see (its people, the owner, are the customer\'s IT staff)',
  })
  @IsOptionalNonNull()
  @IsUUID()
  organizationId?: string;
}

export class ApiKeyResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ enum: ROLES })
  role!: Role;

  @ApiProperty({ nullable: true, type: String, example: 'jane@example.com', description: 'The person (or, for a filter key, the host) behind the key' })
  owner!: string | null;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The organization a customer key is bound to; null for other roles' })
  organizationId!: string | null;

  @ApiProperty({ example: 'hp_Xy3kQ9ab', description: 'The first characters of the key, to recognize it' })
  prefix!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  lastUsedAt!: Date | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  expiresAt!: Date | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  revokedAt!: Date | null;
}

export class CreatedApiKeyResponseDto extends ApiKeyResponseDto {
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'The secret: shown this once, stored only as a hash. A replay of the request (same Idempotency-Key) answers null here, with secretShownOnce',
  })
  key!: string | null;

  @ApiPropertyOptional({
    type: Boolean,
    description: 'true, and present only in a replay: the secret was shown in the first response and cannot be shown again',
  })
  secretShownOnce?: boolean;
}

export class ApiKeyPageDto {
  @ApiProperty({ type: [ApiKeyResponseDto] })
  items!: ApiKeyResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
