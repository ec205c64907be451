import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CustomerScope } from '../common/customer-scope.decorator.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { Roles } from '../common/roles.decorator.js';
import { DiagnosticsService, type HeloDiagnosis } from './diagnostics.service.js';
import { HeloDiagnosisDto, HeloDiagnosticsQueryDto } from './dto/diagnostics.dto.js';

@ApiTags('diagnostics')
@Controller('v1/diagnostics')
export class DiagnosticsController {
  constructor(private readonly diagnostics: DiagnosticsService) {}

  @Get('helo')
  @Roles('csr', 'admin', 'customer')
  @CustomerScope.diagnostics()
  @ApiOperation({ summary: 'Would Postfix refuse this HELO name from this address, why, and what to tell the customer' })
  @ApiOkResponse({ type: HeloDiagnosisDto })
  helo(@Query() query: HeloDiagnosticsQueryDto, @Context() context: RequestContext): Promise<HeloDiagnosis> {
    return this.diagnostics.diagnoseHelo(query.helo, query.ip, context.scope);
  }
}
