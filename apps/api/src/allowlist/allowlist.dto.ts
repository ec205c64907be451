import { ApiProperty } from '@nestjs/swagger';

export class SigningKeyDto {
  @ApiProperty({ enum: ['ed25519'] })
  algorithm!: 'ed25519';

  @ApiProperty({ description: 'The raw 32-byte public key, base64' })
  base64!: string;

  @ApiProperty({ description: 'SubjectPublicKeyInfo PEM' })
  pem!: string;

  @ApiProperty({ description: "rspamd's base32 form (for sign_key / rspamadm signtool)" })
  rspamd!: string;
}
