import { Module } from '@nestjs/common';
import { NotificationsModule } from '@app/notifications';
import { ReportsController } from './reports.controller.js';

@Module({ imports: [NotificationsModule], controllers: [ReportsController] })
export class ReportsModule {}
