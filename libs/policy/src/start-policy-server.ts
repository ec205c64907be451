import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import type { HeloPassConfig } from '@app/config';
import type { Clock } from '@app/domain';
import { MetricsEndpoint } from '@app/metrics';
import { PolicyModule } from './policy.module.js';
import { PolicyService } from './policy.service.js';
import type { FlushOutcome } from './usage-counter.js';

export interface PolicyServerOptions {
  readonly clock?: Clock;
  readonly logStream?: NodeJS.WritableStream;
  /** Listen here instead of POLICY_PORT (0: any free port; tests). */
  readonly port?: number;
}

export interface RunningPolicyServer {
  readonly host: string;
  readonly port: number;
  /** The version of the list it answers from. */
  version(): bigint | null;
  /** Writes the counted matches now. */
  flushUsage(): Promise<FlushOutcome>;
  /** Matches counted and not yet written. */
  unwrittenMatches(): number;
  /** Client connections open now. */
  connections(): number;
  /** Where its Prometheus metrics are served (POLICY_METRICS_PORT), or undefined when nowhere. */
  readonly metricsPort: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the policy server: loads the list through the enforcement core,
 * then listens. Used by apps/policy and by the tests.
 */
export async function startPolicyServer(config: HeloPassConfig, options: PolicyServerOptions = {}): Promise<RunningPolicyServer> {
  if (config.databaseUrl === undefined) {
    throw new Error('the policy server needs DATABASE_URL resolved first');
  }
  const app = await NestFactory.createApplicationContext(PolicyModule.forRoot(config, options.clock, options.logStream), { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);
  const policy = app.get(PolicyService);
  let address;
  try {
    address = await policy.listen(options.port);
  } catch (error) {
    await app.close();
    throw error;
  }
  logger.log({ msg: 'policy server listening', host: address.address, port: address.port, exceptions: policy.matcher.size });
  return {
    host: address.address,
    port: address.port,
    version: () => policy.matcher.version,
    flushUsage: () => policy.flushUsage(),
    unwrittenMatches: () => policy.unwrittenMatches,
    connections: () => policy.connections,
    metricsPort: app.get(MetricsEndpoint).port,
    stop: () => app.close(),
  };
}
