import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNotEmpty,
  IsString,
  IsUUID,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PageQueryDto } from '../../common/list-query.dto.js';
import { FreeText, IsOptionalNonNull } from '../../common/validators.js';

export const MAX_ADDRESSES_PER_SERVER = 64;

export class CreateMailServerDto {
  @ApiProperty({
    maxLength: 254,
    example: 'exch01.corp.local',
    description: 'The HELO/EHLO name exactly as the server announces it (single labels and underscores allowed)',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  heloHostname!: string;

  @ApiProperty({
    type: [String],
    example: ['192.0.2.10', '2001:db8:1::/64'],
    description: 'Addresses or CIDR prefixes (host bits zero) the server sends from',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ADDRESSES_PER_SERVER)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  addresses!: string[];

  @ApiPropertyOptional({ maxLength: 1000 })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(1000)
  @FreeText()
  description?: string;
}

export class UpdateMailServerDto {
  @ApiPropertyOptional({ maxLength: 254 })
  @IsOptionalNonNull()
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  heloHostname?: string;

  @ApiPropertyOptional({ type: [String], description: 'Replaces the whole list' })
  @IsOptionalNonNull()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ADDRESSES_PER_SERVER)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  addresses?: string[];

  @ApiPropertyOptional({ type: String, maxLength: 1000, nullable: true, description: 'null removes it' })
  @ValidateIf((_object, value) => value !== null)
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(1000)
  @FreeText()
  description?: string | null;
}

export class ListMailServersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'HELO name (compared normalized)' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(254)
  helo?: string;

  @ApiPropertyOptional({ description: 'Servers whose prefixes contain this address (or prefix)' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(64)
  address?: string;
}

export class SearchMailServersQueryDto extends ListMailServersQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptionalNonNull()
  @IsUUID()
  organizationId?: string;
}

export class MailServerResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  organizationId!: string;

  @ApiProperty({ example: 'exch01.corp.local' })
  heloHostname!: string;

  @ApiProperty({ type: [String], example: ['192.0.2.10/32', '2001:db8:1::/64'] })
  addresses!: string[];

  @ApiProperty({ nullable: true, type: String })
  description!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: Date;
}

export class MailServerPageDto {
  @ApiProperty({ type: [MailServerResponseDto] })
  items!: MailServerResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
