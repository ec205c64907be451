import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength } from 'class-validator';
import { IsOptionalNonNull } from '../../common/validators.js';
import { AuditChainReportDto } from './audit-event.dto.js';

export class AuditCheckpointDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The event of the last link (null for an empty chain)' })
  lastEventId!: string | null;

  @ApiProperty({ example: 'a3f1…', description: 'Hash of the last link' })
  lastHash!: string;

  @ApiProperty({ description: 'Links in the chain: the last link\'s position' })
  count!: number;

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ description: 'Ed25519 signature of the canonical JSON of {lastEventId, lastHash, count, at} (keys sorted, no spaces), base64' })
  signature!: string;

  @ApiProperty({ description: 'The signer\'s raw 32-byte public key, base64 (AUDIT_SIGNING_KEY\'s)' })
  publicKey!: string;

  @ApiProperty({ example: 'system:worker', description: 'Who asked for it' })
  createdBy!: string;
}

export class CheckpointPublicationDto {
  @ApiProperty({ nullable: true, type: String, example: 'written', description: 'AUDIT_CHECKPOINT_FILE: written, failed: …, or null when unset' })
  file!: string | null;

  @ApiProperty({ nullable: true, type: String, example: 'delivered (HTTP 204)', description: 'AUDIT_CHECKPOINT_URL: delivered, failed: …, or null when unset' })
  url!: string | null;
}

export class CreatedAuditCheckpointDto {
  @ApiProperty({ type: AuditCheckpointDto })
  checkpoint!: AuditCheckpointDto;

  @ApiProperty({ type: CheckpointPublicationDto })
  published!: CheckpointPublicationDto;
}

export class AuditCheckpointPageDto {
  @ApiProperty({ type: [AuditCheckpointDto] })
  items!: AuditCheckpointDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}

export class VerifyAuditQueryDto {
  @ApiPropertyOptional({ enum: ['incremental', 'full'], default: 'incremental', description: 'incremental: from the last checkpoint on; full: every link from the first' })
  @IsOptionalNonNull()
  @IsIn(['incremental', 'full'])
  mode?: 'incremental' | 'full';

  @ApiPropertyOptional({
    description:
      'A signed checkpoint kept outside the database, as JSON ({lastEventId, lastHash, count, at, signature, publicKey}): the chain is checked against it (a cut tail, a rewritten event, a restored older backup)',
  })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(2000)
  checkpoint?: string;
}

export class CheckpointSummaryDto {
  @ApiProperty()
  count!: number;

  @ApiProperty()
  lastHash!: string;

  @ApiProperty({ nullable: true, type: String })
  lastEventId!: string | null;

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ description: 'Whether the database still holds this checkpoint (an older backup does not)' })
  knownToDatabase!: boolean;
}

export class CheckpointVerificationDto {
  @ApiProperty({ enum: ['consistent', 'checkpoint_signature_invalid', 'event_rewritten', 'tail_truncated', 'restored_older_backup'] })
  verdict!: string;

  @ApiProperty()
  valid!: boolean;

  @ApiProperty({ description: 'What was found, in a sentence' })
  detail!: string;

  @ApiProperty({ type: CheckpointSummaryDto })
  checkpoint!: CheckpointSummaryDto;

  @ApiProperty({ type: AuditChainReportDto })
  chain!: AuditChainReportDto;
}
