import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { ExceptionResponseDto } from '../../exceptions/dto/exception.dto.js';
import { IsOptionalNonNull } from '../../common/validators.js';

export class HeloDiagnosticsQueryDto {
  @ApiProperty({ description: 'The HELO/EHLO name exactly as the server announces it', example: 'exch01.corp.local' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  helo!: string;

  @ApiPropertyOptional({ description: 'The client address the server connects from', example: '192.0.2.10' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(64)
  ip?: string;
}

export class DnsAnswerDto {
  @ApiProperty({ enum: ['ok', 'nxdomain', 'nodata', 'timeout', 'servfail', 'refused', 'error', 'skipped'] })
  status!: string;

  @ApiProperty({ type: [String] })
  records!: string[];

  @ApiProperty({ nullable: true, type: String })
  resolver!: string | null;

  @ApiProperty({ nullable: true, type: String })
  error!: string | null;
}

export class HeloSyntaxDto {
  @ApiProperty()
  announced!: string;

  @ApiProperty({ nullable: true, type: String, description: 'Normalized form, when valid' })
  normalized!: string | null;

  @ApiProperty()
  valid!: boolean;

  @ApiProperty({ nullable: true, type: String })
  problem!: string | null;
}

export class HeloDnsDto {
  @ApiProperty({ type: DnsAnswerDto })
  a!: DnsAnswerDto;

  @ApiProperty({ type: DnsAnswerDto })
  aaaa!: DnsAnswerDto;

  @ApiProperty({ type: DnsAnswerDto })
  mx!: DnsAnswerDto;
}

export class PostfixVerdictDto {
  @ApiProperty({ nullable: true, type: Boolean, description: 'null when DNS could not tell' })
  rejected!: boolean | null;

  @ApiProperty({ nullable: true, type: String, example: '450 4.7.1 <exch01.corp.local>: Helo command rejected: Host not found' })
  reply!: string | null;

  @ApiProperty({ nullable: true, type: String, example: 'reject_unknown_helo_hostname' })
  restriction!: string | null;

  @ApiProperty()
  explanation!: string;
}

export class ClientAddressDto {
  @ApiProperty({ nullable: true, type: String })
  address!: string | null;

  @ApiProperty({ nullable: true, type: String })
  problem!: string | null;

  @ApiProperty({ type: DnsAnswerDto })
  ptr!: DnsAnswerDto;
}

export class OwnerDto {
  @ApiProperty({ format: 'uuid' })
  organizationId!: string;

  @ApiProperty()
  organizationName!: string;

  @ApiProperty({ enum: ['active', 'suspended'] })
  organizationStatus!: string;

  @ApiProperty({ format: 'uuid' })
  mailServerId!: string;
}

export class HeloDiagnosisDto {
  @ApiProperty({ type: HeloSyntaxDto })
  syntax!: HeloSyntaxDto;

  @ApiProperty({ type: HeloDnsDto })
  dns!: HeloDnsDto;

  @ApiProperty({ type: PostfixVerdictDto })
  postfix!: PostfixVerdictDto;

  @ApiPropertyOptional({ type: ClientAddressDto, nullable: true })
  client!: ClientAddressDto | null;

  @ApiProperty({ type: [OwnerDto], description: 'Registered mail servers with this HELO name and address' })
  owners!: OwnerDto[];

  @ApiPropertyOptional({ type: ExceptionResponseDto, nullable: true, description: 'The exception in effect that lets this pair through' })
  exception!: ExceptionResponseDto | null;

  @ApiProperty({ type: [String], description: 'Plain advice to read to the customer' })
  advice!: string[];
}
