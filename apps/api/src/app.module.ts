import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AccessModule } from '@app/access';
import type { HeloPassConfig } from '@app/config';
import { processFoundation } from '@app/database';
import { MetricsModule } from '@app/metrics';
import { ExceptionsModule } from '@app/exceptions';
import type { Clock } from '@app/domain';
import { AllowlistApiModule } from './allowlist/allowlist-api.module.js';
import { ApiKeysModule } from './api-keys/api-keys.module.js';
import { AuditEventsModule } from './audit-events/audit-events.module.js';
import { DiagnosticsModule } from './diagnostics/diagnostics.module.js';
import { DomainsModule } from './domains/domains.module.js';
import { ExceptionsApiModule } from './exceptions/exceptions.module.js';
import { OwnershipApiModule } from './ownership/ownership.module.js';
import { AuthGuard, CallerAuthentication } from './common/auth.guard.js';
import { CustomerScopeGuard } from './common/customer-scope.guard.js';
import { CustomerScopeRepository } from './common/customer-scope.repository.js';
import { ConsoleModule } from './console/console.module.js';
import { PublicCheckModule } from './public-check/public-check.module.js';

import { ProblemFilter } from './common/problem.filter.js';
import { RateLimits } from './common/rate-limits.js';
import { EtagInterceptor } from './common/versioned.js';
import { HealthModule } from './health/health.module.js';
import { ApprovalMetrics } from './observability/approval-metrics.js';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor.js';
import { IdempotencyModule } from './idempotency/idempotency.module.js';
import { MailServersModule } from './mail-servers/mail-servers.module.js';
import { OrganizationsModule } from './organizations/organizations.module.js';
import { ReportsModule } from './reports/reports.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

export interface AppOptions {
  /** Where structured logs go (stdout when absent); tests pass a stream to read them. */
  readonly logStream?: NodeJS.WritableStream;
  /** Told of every route the HTTP server registers (tests check each one's access rule). */
  readonly onRoute?: (method: string, url: string) => void;
  /** The clock every time-based rule reads (tests move it by hand). */
  readonly clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot(config: HeloPassConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...processFoundation('helopass', config, options.clock, options.logStream),
        // Served on a listener of its own (METRICS_HOST, METRICS_PORT), never on the API's port.
        MetricsModule.forRoot('api', { host: config.metrics.host, port: config.metrics.apiPort }),
        AccessModule,
        IdempotencyModule,
        HealthModule,
        ApiKeysModule,
        OrganizationsModule,
        MailServersModule,
        AuditEventsModule,
        DomainsModule,
        OwnershipApiModule,
        DiagnosticsModule,
        ExceptionsModule,
        ExceptionsApiModule,
        AllowlistApiModule,
        WebhooksModule,
        ReportsModule,
        ConsoleModule,
        PublicCheckModule,
      ],
      providers: [
        ApprovalMetrics,
        RateLimits,
        CallerAuthentication,
        { provide: APP_GUARD, useClass: AuthGuard },
        // After authentication: keeps customer keys inside their organization.
        CustomerScopeRepository,
        { provide: APP_GUARD, useClass: CustomerScopeGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        // Outermost first: idempotency records what the ETag interceptor produced.
        { provide: APP_INTERCEPTOR, useExisting: IdempotencyInterceptor },
        { provide: APP_INTERCEPTOR, useClass: EtagInterceptor },
      ],
    };
  }
}
