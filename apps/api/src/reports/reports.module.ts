import { Module } from '@nestjs/common';
import { NotificationsModule } from '@app/notifications';
import { GrantsReportService } from './grants-report.service.js';
import { ReportsController } from './reports.controller.js';

@Module({ imports: [NotificationsModule], controllers: [ReportsController], providers: [GrantsReportService] })
export class ReportsModule {}
