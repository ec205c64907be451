import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsNotEmpty, IsString, IsUUID, MaxLength } from 'class-validator';
import { NOTIFICATION_EVENT_TYPES } from '@app/domain';
import { DELIVERY_STATUSES, type DeliveryStatus } from '@app/notifications';
import { PageQueryDto } from '../../common/list-query.dto.js';
import { IsOptionalNonNull } from '../../common/validators.js';

export class CreateWebhookDto {
  @ApiProperty({
    maxLength: 2048,
    example: 'https://hooks.example.net/helopass',
    description:
      'Where events are POSTed: https (plain http only to internal receivers allowed by WEBHOOK_ALLOW_PRIVATE_TARGETS), no user name or password. ' +
      'Refused (422) when its host resolves to a loopback, private or link-local address that is not allowed.',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url!: string;

  @ApiProperty({ enum: NOTIFICATION_EVENT_TYPES, isArray: true, example: ['exception.expiring', 'domain.lapsed'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(32)
  @IsIn(NOTIFICATION_EVENT_TYPES, { each: true })
  events!: string[];

  @ApiPropertyOptional({ format: 'uuid', description: "Only this organization's events; all organizations when absent" })
  @IsOptionalNonNull()
  @IsUUID()
  organizationId?: string;
}

export class WebhookResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  url!: string;

  @ApiProperty({ enum: NOTIFICATION_EVENT_TYPES, isArray: true })
  events!: string[];

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  organizationId!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'The person who subscribed it' })
  createdByOwner!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  deletedAt!: Date | null;
}

export class CreatedWebhookResponseDto extends WebhookResponseDto {
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description:
      'The signing secret (Standard Webhooks, `whsec_` and base64): shown this once, kept only encrypted. A replay of the request ' +
      '(same Idempotency-Key) answers null here, with secretShownOnce',
  })
  secret!: string | null;

  @ApiPropertyOptional({ type: Boolean, description: 'true, and present only in a replay: the secret was shown in the first response' })
  secretShownOnce?: boolean;
}

export class WebhookPageDto {
  @ApiProperty({ type: [WebhookResponseDto] })
  items!: WebhookResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}

export class ListDeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptionalNonNull()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class DeliveryAttemptDto {
  @ApiProperty({ format: 'date-time' })
  attemptedAt!: Date;

  @ApiProperty()
  durationMs!: number;

  @ApiProperty({ enum: ['delivered', 'failed', 'refused'], description: 'refused: a target delivery may not reach (not retried)' })
  outcome!: string;

  @ApiProperty({ nullable: true, type: Number, description: "The receiver's HTTP status" })
  statusCode!: number | null;

  @ApiProperty({ nullable: true, type: String })
  error!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'The URL last tried (after redirects)' })
  target!: string | null;
}

export class DeliveryResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid', description: 'The event: sent as webhook-id, the same on every retry and replay' })
  eventId!: string;

  @ApiProperty({ enum: NOTIFICATION_EVENT_TYPES })
  eventType!: string;

  @ApiProperty({ format: 'date-time' })
  occurredAt!: Date;

  @ApiProperty({ enum: DELIVERY_STATUSES })
  status!: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The delivery this one replays' })
  replayOf!: string | null;

  @ApiProperty()
  attemptCount!: number;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  nextAttemptAt!: Date | null;

  @ApiProperty({ nullable: true, type: String })
  lastError!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ format: 'date-time', nullable: true, type: Date })
  completedAt!: Date | null;

  @ApiProperty({ type: [DeliveryAttemptDto], description: 'One entry per attempt, oldest first' })
  attempts!: DeliveryAttemptDto[];
}

export class DeliveryPageDto {
  @ApiProperty({ type: [DeliveryResponseDto] })
  items!: DeliveryResponseDto[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor!: string | null;
}
