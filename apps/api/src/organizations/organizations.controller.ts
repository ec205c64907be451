import { Body, Controller, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Page } from '@app/domain';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { CustomerScope } from '../common/customer-scope.decorator.js';
import { Roles } from '../common/roles.decorator.js';
import { IfMatch, type Versioned } from '../common/versioned.js';
import { ApiWrite } from '../common/api-write.decorator.js';
import {
  CreateOrganizationDto,
  ListOrganizationsQueryDto,
  OrganizationPageDto,
  OrganizationResponseDto,
  UpdateOrganizationDto,
} from './dto/organization.dto.js';
import { OrganizationsService, type Organization } from '@app/registry';

@ApiTags('organizations')
@Controller('v1/organizations')
export class OrganizationsController {
  constructor(private readonly organizations: OrganizationsService) {}

  @Post()
  @Roles('csr', 'admin')
  @ApiWrite()
  @ApiOperation({ summary: 'Register a customer organization' })
  @ApiCreatedResponse({ type: OrganizationResponseDto })
  @ApiConflictResponse({ description: 'customerRef already used', type: ProblemResponseDto })
  create(@Body() body: CreateOrganizationDto, @Context() context: RequestContext): Promise<Versioned<Organization>> {
    return this.organizations.create(body, context);
  }

  @Get()
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.listed()
  @ApiOperation({ summary: 'List organizations, newest first; search by name or customerRef' })
  @ApiOkResponse({ type: OrganizationPageDto })
  list(@Query() query: ListOrganizationsQueryDto, @Context() context: RequestContext): Promise<Page<Organization>> {
    return this.organizations.list({ q: query.q, status: query.status, id: context.scope.organizationId ?? undefined }, query.limit, query.cursor);
  }

  @Get(':id')
  @Roles('csr', 'admin', 'auditor', 'customer')
  @CustomerScope.param('organization')
  @ApiOperation({ summary: 'One organization (with its ETag)' })
  @ApiOkResponse({ type: OrganizationResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  get(@IdParam('organization') id: string): Promise<Versioned<Organization>> {
    return this.organizations.get(id);
  }

  @Patch(':id')
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Change name, customerRef or notes' })
  @ApiOkResponse({ type: OrganizationResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'customerRef already used', type: ProblemResponseDto })
  update(
    @IdParam('organization') id: string,
    @Body() body: UpdateOrganizationDto,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<Organization>> {
    return this.organizations.update(id, body, version, context);
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Suspend: its exceptions leave the allowlist' })
  @ApiOkResponse({ type: OrganizationResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  suspend(
    @IdParam('organization') id: string,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<Organization>> {
    return this.organizations.suspend(id, version, context);
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @Roles('csr', 'admin')
  @ApiWrite({ ifMatch: true })
  @ApiOperation({ summary: 'Reactivate a suspended organization' })
  @ApiOkResponse({ type: OrganizationResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  reactivate(
    @IdParam('organization') id: string,
    @IfMatch() version: number | undefined,
    @Context() context: RequestContext,
  ): Promise<Versioned<Organization>> {
    return this.organizations.reactivate(id, version, context);
  }
}
