import { Module } from '@nestjs/common';
import { NotificationsModule } from '@app/notifications';
import { WebhooksController } from './webhooks.controller.js';

@Module({ imports: [NotificationsModule], controllers: [WebhooksController] })
export class WebhooksModule {}
