import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OwnershipService, type OwnershipView } from '@app/ownership';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { CustomerScope } from '../common/customer-scope.decorator.js';
import { Roles } from '../common/roles.decorator.js';
import { OwnershipResponseDto } from './ownership.dto.js';

@ApiTags('mail-servers')
@Controller('v1/mail-servers/:id/ownership')
export class OwnershipController {
  constructor(private readonly ownership: OwnershipService) {}

  @Get()
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.param('mail server')
  @ApiOperation({ summary: 'What proves (or does not yet prove) that the server belongs to its organization' })
  @ApiOkResponse({ type: OwnershipResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  get(@IdParam('mail server') id: string): Promise<OwnershipView> {
    return this.ownership.get(id);
  }

  @Post('check')
  @HttpCode(200)
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.param('mail server')
  @ApiOperation({ summary: 'Recompute the ownership evidence now (PTR, SPF, HELO domain)' })
  @ApiOkResponse({ type: OwnershipResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  check(@IdParam('mail server') id: string): Promise<OwnershipView> {
    return this.ownership.check(id);
  }
}
