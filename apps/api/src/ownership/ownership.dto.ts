import { ApiProperty } from '@nestjs/swagger';

export class AddressEvidenceDto {
  @ApiProperty({ example: '192.0.2.10/32' })
  address!: string;

  @ApiProperty()
  proven!: boolean;

  @ApiProperty({ enum: ['ptr', 'spf'], nullable: true, type: String })
  method!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'The verified domain the proof rests on' })
  domain!: string | null;

  @ApiProperty({ type: [String] })
  ptrNames!: string[];

  @ApiProperty({ nullable: true, type: String, example: 'ip4:192.0.2.0/24' })
  spfMechanism!: string | null;

  @ApiProperty({ description: 'Why it is (or is not) proven' })
  reason!: string;
}

export class HeloEvidenceDto {
  @ApiProperty()
  heloHostname!: string;

  @ApiProperty()
  proven!: boolean;

  @ApiProperty({ nullable: true, type: String })
  domain!: string | null;

  @ApiProperty()
  reason!: string;
}

export class DnsCheckSummaryDto {
  @ApiProperty({ description: 'DNS questions sent (a question asked again within the check is answered from memory)' })
  lookups!: number;

  @ApiProperty({ description: 'The deadline of the check (DNS_CHECK_DEADLINE_MS)' })
  deadlineMs!: number;

  @ApiProperty({
    nullable: true,
    type: String,
    example: 'deadline exceeded after 7 lookups: the DNS check may take at most 5000 ms',
    description: 'Set when the deadline passed: what was not settled by then is "could not tell", not "not proven"',
  })
  deadlineExceeded!: string | null;
}

export class OwnershipResponseDto {
  @ApiProperty({ format: 'uuid' })
  mailServerId!: string;

  @ApiProperty()
  heloHostname!: string;

  @ApiProperty({ type: [String] })
  addresses!: string[];

  @ApiProperty({ type: [String], description: "The organization's verified domains at the time" })
  verifiedDomains!: string[];

  @ApiProperty({ type: HeloEvidenceDto })
  helo!: HeloEvidenceDto;

  @ApiProperty({ type: [AddressEvidenceDto] })
  addressEvidence!: AddressEvidenceDto[];

  @ApiProperty({ description: 'Every address proven (needed by pair and ip exceptions)' })
  addressesProven!: boolean;

  @ApiProperty({
    type: [String],
    description: "Addresses proven by SPF alone: the customer's claim, not shown to be owned; a grant resting on them waits for a second person (spf_only)",
  })
  spfOnlyAddresses!: string[];

  @ApiProperty({ description: 'The HELO name proven (needed by helo exceptions)' })
  heloProven!: boolean;

  @ApiProperty({ description: 'Both' })
  verified!: boolean;

  @ApiProperty({ type: DnsCheckSummaryDto, required: false, description: 'How the DNS work went (absent on evidence computed before it was recorded)' })
  dnsCheck?: DnsCheckSummaryDto;

  @ApiProperty({ format: 'date-time' })
  checkedAt!: Date;

  @ApiProperty({ description: 'Something it rests on changed since; recompute with POST …/ownership/check' })
  stale!: boolean;
}
