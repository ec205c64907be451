import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class BlocklistListingDto {
  @ApiProperty({ description: 'The address or HELO name looked up' }) subject!: string;
  @ApiProperty({ description: 'The blocklist zone' }) zone!: string;
  @ApiProperty({ description: 'The name asked (RFC 5782)' }) query!: string;
  @ApiProperty({ type: [String], description: 'The answer addresses that count as listed' }) answers!: string[];
  @ApiPropertyOptional({ description: "The list's TXT reason, when it has one" }) reason?: string;
}

export class BlocklistUnknownDto {
  @ApiProperty() subject!: string;
  @ApiProperty() zone!: string;
  @ApiProperty() query!: string;
  @ApiProperty({ description: 'Why there is no answer (timeout, SERVFAIL, the list refused the query, …): never counted as listed' })
  reason!: string;
}

export class PrefixCoverageDto {
  @ApiProperty() prefix!: string;
  @ApiProperty({ description: 'Addresses looked up in each address zone' }) checked!: number;
  @ApiProperty({ description: 'Addresses the prefix holds (decimal, or 2^n)' }) total!: string;
  @ApiProperty({ description: 'Only the network address was looked up (a prefix wider than DNSBL_MAX_ADDRESSES, or IPv6)' })
  partial!: boolean;
}

export class BlocklistCheckDto {
  @ApiProperty({ description: 'False when no blocklist is configured: nothing was looked up' }) enabled!: boolean;
  @ApiProperty({ type: [String] }) addressZones!: string[];
  @ApiProperty({ type: [String] }) domainZones!: string[];
  @ApiProperty({ type: [PrefixCoverageDto] }) prefixes!: PrefixCoverageDto[];
  @ApiPropertyOptional() heloHostname?: string;
  @ApiProperty({ type: [BlocklistListingDto], description: 'Every listing found' }) listed!: BlocklistListingDto[];
  @ApiProperty({ type: [BlocklistUnknownDto], description: 'Lookups that got no answer' }) unknown!: BlocklistUnknownDto[];
  @ApiProperty({ type: [BlocklistListingDto], description: 'The listings that count against it (less those its override accepted)' })
  against!: BlocklistListingDto[];
}

export class HeloLookupDto {
  @ApiProperty({ description: 'ok, nxdomain, nodata, timeout, servfail, refused, error or skipped' }) status!: string;
  @ApiProperty({ type: [String] }) records!: string[];
  @ApiProperty({ nullable: true, type: String }) resolver!: string | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
}

export class SelfHealingCheckDto {
  @ApiProperty({
    enum: ['passes', 'fails', 'unknown'],
    description: "passes: Postfix's HELO checks would let the name through now; unknown: DNS could not tell (never counted as fixed)",
  })
  health!: string;
  @ApiProperty({ type: HeloLookupDto }) a!: HeloLookupDto;
  @ApiProperty({ type: HeloLookupDto }) aaaa!: HeloLookupDto;
  @ApiProperty({ type: HeloLookupDto }) mx!: HeloLookupDto;
  @ApiProperty({
    nullable: true,
    type: String,
    enum: ['marked_no_longer_needed', 'needed_again', 'revoked'],
    description: 'What the check changed (audited), or null',
  })
  changed!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date }) noLongerNeededSince!: Date | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: Date, description: 'When the worker revokes it if it still passes then and is not kept' })
  revokesAt!: Date | null;
}

export class ExceptionCheckResponseDto {
  @ApiProperty({ format: 'uuid' }) exceptionId!: string;
  @ApiProperty({ format: 'date-time' }) checkedAt!: Date;
  @ApiProperty({ description: 'The status after the check' }) status!: string;
  @ApiProperty({ type: [String] }) suspensionCauses!: string[];
  @ApiProperty({
    nullable: true,
    type: String,
    enum: ['suspended', 'restored', 'suspension_cause_lifted'],
    description: 'What the check changed (audited), or null',
  })
  changed!: string | null;
  @ApiProperty({ type: BlocklistCheckDto }) blocklists!: BlocklistCheckDto;
  @ApiProperty({ type: SelfHealingCheckDto, description: 'The HELO name looked up as Postfix would (self-healing)' })
  selfHealing!: SelfHealingCheckDto;
}
