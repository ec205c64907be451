import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { ExceptionResponseDto } from '../../exceptions/dto/exception.dto.js';
import { IsOptionalNonNull, SmtpArgument } from '../../common/validators.js';

export class HeloDiagnosticsQueryDto {
  @ApiProperty({
    description: 'The HELO/EHLO argument exactly as the server announces it: a name, an address literal ([192.0.2.1]), anything',
    example: 'exch01.corp.local',
    maxLength: 512,
  })
  @IsString()
  @IsNotEmpty()
  // RFC 5321 §4.5.3.1.4: a command line is at most 512 octets.
  @MaxLength(512)
  @SmtpArgument()
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

  @ApiProperty({ nullable: true, type: String, description: 'The resolver that said it, address:port', example: '192.0.2.53:53' })
  resolver!: string | null;

  @ApiProperty({ nullable: true, type: String })
  error!: string | null;
}

export class HeloSyntaxDto {
  @ApiProperty({ description: 'The name as Postfix quotes it in a reply (blanks, controls and <>()\\";@ shown as ?)' })
  announced!: string;

  @ApiProperty({
    enum: ['hostname', 'address_literal', 'address', 'none'],
    description: 'A host name, an address literal ([192.0.2.1], [IPv6:2001:db8::1]), a bare address, or nothing',
  })
  form!: string;

  @ApiProperty({ nullable: true, type: String, description: 'The name as HeloPass registers it (null for addresses: such a server is matched by its address)' })
  normalized!: string | null;

  @ApiProperty({ description: 'Passes Postfix\'s reject_invalid_helo_hostname' })
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
  @ApiProperty({ nullable: true, type: Boolean, description: 'null when DNS could not tell (Postfix would defer; or our resolver looks broken)' })
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

export class PolicyCoverageDto {
  @ApiProperty() covered!: boolean;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) exceptionId!: string | null;
  @ApiProperty({ enum: ['pair', 'ip', 'helo'], nullable: true, type: String }) scope!: string | null;
}

export class HeloMapCoverageDto {
  @ApiProperty() covered!: boolean;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) exceptionId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The map entry that matches: the name itself or a parent domain' }) entry!: string | null;
}

export class HeloCoverageDto {
  @ApiProperty({ type: PolicyCoverageDto, description: 'The policy server: the exception by its scope (exactly the pair for pair scope)' })
  policyServer!: PolicyCoverageDto;

  @ApiProperty({
    type: PolicyCoverageDto,
    description: 'The cidr map (postfix-cidr, rspamd-ip): addresses of pair and ip exceptions; it lets ANY HELO name through from them',
  })
  cidrMap!: PolicyCoverageDto;

  @ApiProperty({ type: HeloMapCoverageDto, description: 'The HELO map (postfix-helo): helo exceptions, and by Postfix default their subdomains' })
  heloMap!: HeloMapCoverageDto;

  @ApiProperty({ description: 'One sentence telling the paths apart' })
  explanation!: string;
}

export class HeloDiagnosisDto {
  @ApiProperty({ type: HeloSyntaxDto })
  syntax!: HeloSyntaxDto;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why the name can never resolve in the public DNS (special-use like .local or .home.arpa, not delegated like .corp, a single label), or null',
  })
  neverPublic!: string | null;

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

  @ApiProperty({ type: HeloCoverageDto })
  coverage!: HeloCoverageDto;

  @ApiProperty({ type: [String], description: 'Plain advice to read to the customer' })
  advice!: string[];
}
