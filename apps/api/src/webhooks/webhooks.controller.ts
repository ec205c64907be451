import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Page } from '@app/domain';
import { WebhookSubscriptionsService, type CreatedWebhook, type DeliveryView, type WebhookView } from '@app/notifications';
import { ApiWrite } from '../common/api-write.decorator.js';
import { PageQueryDto } from '../common/list-query.dto.js';
import { IdParam } from '../common/params.js';
import { ProblemResponseDto } from '../common/problem.dto.js';
import { Context, type RequestContext } from '../common/request-context.js';
import { Roles } from '../common/roles.decorator.js';
import { ReturnsSecret } from '../idempotency/returns-secret.js';
import {
  CreatedWebhookResponseDto,
  CreateWebhookDto,
  DeliveryPageDto,
  DeliveryResponseDto,
  ListDeliveriesQueryDto,
  WebhookPageDto,
  WebhookResponseDto,
} from './dto/webhook.dto.js';

@ApiTags('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhookSubscriptionsService) {}

  @Post()
  @Roles('admin')
  @ApiWrite()
  @ApiOperation({ summary: 'Subscribe a URL to events; the signing secret is in this response only' })
  @ApiCreatedResponse({ type: CreatedWebhookResponseDto })
  @ApiNotFoundResponse({ description: 'No such organization', type: ProblemResponseDto })
  @ReturnsSecret('secret')
  create(@Body() body: CreateWebhookDto, @Context() context: RequestContext): Promise<CreatedWebhook> {
    return this.webhooks.create(body, context);
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'List webhook subscriptions, newest first (never their secrets)' })
  @ApiOkResponse({ type: WebhookPageDto })
  list(@Query() query: PageQueryDto): Promise<Page<WebhookView>> {
    return this.webhooks.list(query.limit, query.cursor);
  }

  @Get(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'One webhook subscription' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  get(@IdParam('webhook') id: string): Promise<WebhookView> {
    return this.webhooks.get(id);
  }

  @Delete(':id')
  @Roles('admin')
  @ApiWrite()
  @ApiOperation({ summary: 'Delete a subscription: nothing more is delivered to it; pending deliveries are cancelled' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  delete(@IdParam('webhook') id: string, @Context() context: RequestContext): Promise<WebhookView> {
    return this.webhooks.delete(id, context);
  }

  @Get(':id/deliveries')
  @Roles('admin')
  @ApiOperation({ summary: "The subscription's delivery log, newest first, each delivery with every attempt" })
  @ApiOkResponse({ type: DeliveryPageDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  deliveries(@IdParam('webhook') id: string, @Query() query: ListDeliveriesQueryDto): Promise<Page<DeliveryView>> {
    return this.webhooks.deliveries(id, query.status, query.limit, query.cursor);
  }

  @Post(':id/deliveries/:deliveryId/replay')
  @HttpCode(202)
  @Roles('admin')
  @ApiWrite()
  @ApiOperation({ summary: 'Deliver the event again (a new delivery, same webhook-id); the worker sends it at once' })
  @ApiAcceptedResponse({ type: DeliveryResponseDto })
  @ApiNotFoundResponse({ type: ProblemResponseDto })
  @ApiConflictResponse({ description: 'The delivery is still being attempted', type: ProblemResponseDto })
  replay(
    @IdParam('webhook') id: string,
    @IdParam('delivery', 'deliveryId') deliveryId: string,
    @Context() context: RequestContext,
  ): Promise<DeliveryView> {
    return this.webhooks.replay(id, deliveryId, context);
  }
}
