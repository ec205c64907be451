import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsNotEmpty, isEmail, IsString, Matches, MaxLength, ValidateBy, ValidateIf } from 'class-validator';
import { PageQueryDto } from '../../common/list-query.dto.js';
import { FreeText, IsOptionalNonNull } from '../../common/validators.js';

const CUSTOMER_REF = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Each element a bare e-mail address (no display name, no IP literal); malformed Unicode is refused, never thrown on. */
function IsContactAddress(): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isContactAddress',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string' || /\p{Cs}/u.test(value)) {
            return false;
          }
          try {
            return isEmail(value, { allow_display_name: false, allow_ip_domain: false });
          } catch {
            return false;
          }
        },
        defaultMessage: () => 'technicalContacts must hold e-mail addresses (name@example.com)',
      },
    },
    { each: true },
  );
}

export class CreateOrganizationDto {
  @ApiProperty({ maxLength: 200, example: 'Example Widgets Ltd' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ maxLength: 64, example: 'C-104233', description: "The provider's account number; unique" })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(64)
  @Matches(CUSTOMER_REF, { message: 'customerRef may contain only letters, digits, ".", "_" and "-"' })
  customerRef?: string;

  @ApiPropertyOptional({ maxLength: 4000 })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(4000)
  @FreeText()
  notes?: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: 20,
    example: ['postmaster@example.com'],
    description: "Technical contacts: e-mailed about this organization's expiring exceptions, failing or lapsed domains… (when the operator configured SMTP_URL). Stored lowercased; replaced as a whole",
  })
  @Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map((item: unknown) => (typeof item === 'string' ? item.trim() : item)) : value))
  @IsOptionalNonNull()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(254, { each: true })
  @IsContactAddress()
  technicalContacts?: string[];
}

export class UpdateOrganizationDto extends PartialType(CreateOrganizationDto, { skipNullProperties: false }) {
  @ApiPropertyOptional({ maxLength: 64, nullable: true, description: 'null removes it' })
  @ValidateIf((_object, value) => value !== null)
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(64)
  @Matches(CUSTOMER_REF, { message: 'customerRef may contain only letters, digits, ".", "_" and "-"' })
  override customerRef?: string;

  @ApiPropertyOptional({ maxLength: 4000, nullable: true, description: 'null removes them' })
  @ValidateIf((_object, value) => value !== null)
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(4000)
  @FreeText()
  override notes?: string;
}

export class ListOrganizationsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Part of the name (any case), or the exact customerRef' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({ enum: ['active', 'suspended'] })
  @IsOptionalNonNull()
  @IsIn(['active', 'suspended'])
  status?: 'active' | 'suspended';
}

export class OrganizationResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ nullable: true, type: String })
  customerRef!: string | null;

  @ApiProperty({ enum: ['active', 'suspended'] })
  status!: 'active' | 'suspended';

  @ApiProperty({ nullable: true, type: String })
  notes!: string | null;

  @ApiProperty({ type: [String], description: 'Technical contacts (e-mail addresses)' })
  technicalContacts!: string[];

  @ApiProperty({ format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: Date;
}

export class OrganizationPageDto {
  @ApiProperty({ type: [OrganizationResponseDto] })
  items!: OrganizationResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
