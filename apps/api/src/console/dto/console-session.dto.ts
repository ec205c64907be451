import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class SignInDto {
  @ApiProperty({ description: 'An admin, csr or auditor API key; never stored by the console, never echoed', writeOnly: true })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  key!: string;
}

export class SessionCallerDto {
  @ApiProperty({ format: 'uuid' })
  keyId!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ enum: ['admin', 'csr', 'auditor'] })
  role!: string;

  @ApiProperty({ nullable: true, type: String })
  owner!: string | null;
}

export class ConsoleSessionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ type: SessionCallerDto })
  caller!: SessionCallerDto;

  @ApiProperty({ description: 'Send it in X-CSRF-Token with every POST, PATCH and DELETE made with the session' })
  csrfToken!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: Date;

  @ApiProperty({ format: 'date-time', description: 'The absolute end (CONSOLE_SESSION_MAX_HOURS after sign-in)' })
  expiresAt!: Date;

  @ApiProperty({ description: 'The session ends when unused this long (CONSOLE_SESSION_IDLE_MINUTES)' })
  idleTimeoutSeconds!: number;
}

export class CurrentCallerDto {
  @ApiProperty({ type: SessionCallerDto })
  caller!: SessionCallerDto;

  @ApiProperty({ type: ConsoleSessionDto, nullable: true })
  session!: ConsoleSessionDto | null;
}
