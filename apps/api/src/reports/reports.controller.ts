import { Readable } from 'node:stream';
import { Controller, Get, Headers, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { StaleExceptionsReport, type StaleReportPage } from '@app/notifications';
import { Roles } from '../common/roles.decorator.js';
import { GrantsReportDto, GrantsReportQueryDto } from './dto/grants-report.dto.js';
import { StaleReportDto, StaleReportQueryDto } from './dto/stale-report.dto.js';
import { GrantsReportService } from './grants-report.service.js';

const wantsCsv = (query: StaleReportQueryDto, accept: string | undefined) =>
  query.format === 'csv' || (query.format === undefined && /\btext\/csv\b/i.test(accept ?? ''));

@ApiTags('reports')
@Controller('v1/reports')
export class ReportsController {
  constructor(
    private readonly stale: StaleExceptionsReport,
    private readonly grants: GrantsReportService,
  ) {}

  @Get('exceptions')
  @Roles('auditor', 'admin')
  @ApiOperation({
    summary:
      'Every exception in force at any moment of [from, to): who asked, who approved, on what proof, why, when it started and ended and how, and how much it was used; JSON or CSV',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: GrantsReportDto })
  async exceptions(@Query() query: GrantsReportQueryDto): Promise<Awaited<ReturnType<GrantsReportService['json']>> | StreamableFile> {
    if (query.format === 'csv') {
      return new StreamableFile(Readable.from(this.grants.csv(query.from, query.to)), {
        type: 'text/csv; charset=utf-8',
        disposition: 'attachment; filename="exception-grants.csv"',
      });
    }
    return this.grants.json(query.from, query.to);
  }

  @Get('stale-exceptions')
  @Roles('csr', 'auditor', 'admin')
  @ApiOperation({ summary: 'Active exceptions with no match in unusedDays days (or never matched and older), with owners and contacts; JSON or CSV' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: StaleReportDto })
  async staleExceptions(@Query() query: StaleReportQueryDto, @Headers('accept') accept: string | undefined): Promise<StaleReportPage | StreamableFile> {
    if (wantsCsv(query, accept)) {
      return new StreamableFile(Readable.from(this.stale.csv(query.unusedDays)), {
        type: 'text/csv; charset=utf-8',
        disposition: 'attachment; filename="stale-exceptions.csv"',
      });
    }
    return this.stale.page(query.unusedDays, query.limit, query.cursor);
  }
}
