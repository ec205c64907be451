import { Module, type DynamicModule } from '@nestjs/common';
import type { HeloPassConfig } from '@app/config';
import { processFoundation } from '@app/database';
import type { Clock } from '@app/domain';
import { FeedWriterModule } from '@app/enforcement';
import { MetricsModule } from '@app/metrics';
import { ExceptionsModule } from '@app/exceptions';
import { NotificationsModule } from '@app/notifications';
import { OwnershipModule } from '@app/ownership';
import { RetentionService } from './retention.service.js';

/** What the worker runs: the same services the API uses, without HTTP. */
@Module({})
export class WorkerModule {
  static forRoot(config: HeloPassConfig, clock?: Clock, logStream?: NodeJS.WritableStream): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ...processFoundation('helopass-worker', config, clock, logStream),
        MetricsModule.forRoot('worker', { host: config.metrics.host, port: config.metrics.workerPort }),
        OwnershipModule,
        // Domain lapses found by the worker suspend the exceptions that rest on them.
        ExceptionsModule,
        // Webhooks and e-mail: delivery rounds and the sweep's reminders.
        NotificationsModule,
        // The allowlist's change log, pruned by the retention purge.
        FeedWriterModule,
      ],
      providers: [RetentionService],
    };
  }
}
