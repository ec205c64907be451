import { ApiProperty } from '@nestjs/swagger';
import { ClientAddressDto, HeloDnsDto, HeloSyntaxDto, PostfixVerdictDto } from '../diagnostics/dto/diagnostics.dto.js';

/** What anyone may learn about a HELO name: what our servers answer and why. Nothing about customers. */
export class PublicHeloCheckDto {
  @ApiProperty({ type: HeloSyntaxDto })
  syntax!: HeloSyntaxDto;

  @ApiProperty({ nullable: true, type: String, description: 'Why the name can never resolve in the public DNS, or null' })
  neverPublic!: string | null;

  @ApiProperty({ type: HeloDnsDto, description: 'The A, AAAA and MX answers (status skipped: not asked, e.g. for a name that fails syntax)' })
  dns!: HeloDnsDto;

  @ApiProperty({ type: PostfixVerdictDto, description: "What our Postfix servers would answer, with the exact reply" })
  postfix!: PostfixVerdictDto;

  @ApiProperty({ type: ClientAddressDto, nullable: true })
  client!: ClientAddressDto | null;

  @ApiProperty({ type: [String], description: 'How to fix it' })
  advice!: string[];
}
