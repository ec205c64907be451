import { ApiProperty } from '@nestjs/swagger';

export class FeedPublicKeyDto {
  @ApiProperty({ enum: ['ed25519'] })
  algorithm!: 'ed25519';

  @ApiProperty({ description: 'The raw 32-byte public key, base64' })
  base64!: string;

  @ApiProperty({ description: 'SubjectPublicKeyInfo PEM' })
  pem!: string;

  @ApiProperty({ description: "rspamd's base32 form (for sign_key / rspamadm signtool)" })
  rspamd!: string;
}

/** The key that signs now (top-level fields), and the one staged to sign after the next rotation. */
export class SigningKeyDto extends FeedPublicKeyDto {
  @ApiProperty({
    type: FeedPublicKeyDto,
    nullable: true,
    description: 'The key that will sign after the next rotation (FEED_SIGNING_KEY_NEXT): trust it beside the current one before it is promoted; null when none is staged',
  })
  next!: FeedPublicKeyDto | null;
}

export class AllowlistChangeEntryDto {
  @ApiProperty({ format: 'uuid' })
  exceptionId!: string;

  @ApiProperty({ format: 'uuid' })
  organizationId!: string;

  @ApiProperty({ enum: ['pair', 'ip', 'helo'] })
  scope!: 'pair' | 'ip' | 'helo';

  @ApiProperty()
  heloHostname!: string;

  @ApiProperty({ type: [String], description: 'Canonical CIDRs' })
  addresses!: string[];

  @ApiProperty({ format: 'date-time', description: 'The entry is in the list from this instant…' })
  startsAt!: string;

  @ApiProperty({ format: 'date-time', description: '…until this one (exclusive)' })
  expiresAt!: string;
}

export class AllowlistChangesDto {
  @ApiProperty({ description: 'The version asked about (decimal string)' })
  since!: string;

  @ApiProperty({ description: 'The current version; ask with since=<this> next time (decimal string)' })
  version!: string;

  @ApiProperty({ format: 'date-time', description: 'When the current version began' })
  changedAt!: string;

  @ApiProperty({
    type: [String],
    description: 'Exceptions whose entry left the list or changed since that version: drop them (a changed one comes back in added)',
  })
  removed!: string[];

  @ApiProperty({
    type: [AllowlistChangeEntryDto],
    description: 'Entries that joined or changed, each in effect from startsAt until expiresAt (a client filters by time, as the full list does)',
  })
  added!: AllowlistChangeEntryDto[];
}
