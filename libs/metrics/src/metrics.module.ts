import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HeloPassMetrics } from './helopass-metrics.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';

const METRICS_LISTEN = Symbol('METRICS_LISTEN');

export interface MetricsListenOptions {
  readonly host: string;
  /** undefined: this process serves no metrics listener (its metrics are still counted). 0: any free port. */
  readonly port: number | undefined;
}

/** Starts the process's metrics listener once the app is up, and closes it with the app. */
@Injectable()
export class MetricsEndpoint implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Metrics');
  private listener: MetricsListener | undefined;

  constructor(
    private readonly metrics: HeloPassMetrics,
    @Inject(METRICS_LISTEN) private readonly options: MetricsListenOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.port === undefined) {
      return;
    }
    this.listener = await startMetricsListener(this.metrics, this.options.host, this.options.port);
    this.logger.log({ msg: 'metrics listening', url: `http://${this.listener.host.includes(':') ? `[${this.listener.host}]` : this.listener.host}:${this.listener.port}/metrics` });
  }

  /** The port metrics are served on, or undefined when this process serves none. */
  get port(): number | undefined {
    return this.listener?.port;
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener?.close();
  }
}

/**
 * One registry per process, visible to every module of it (services take
 * `HeloPassMetrics` as an optional dependency: the CLI runs without it).
 */
@Module({})
export class MetricsModule {
  static forRoot(process: HeloPassMetrics['process'], listen: MetricsListenOptions): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      providers: [{ provide: HeloPassMetrics, useFactory: () => new HeloPassMetrics(process) }, { provide: METRICS_LISTEN, useValue: listen }, MetricsEndpoint],
      exports: [HeloPassMetrics, MetricsEndpoint],
    };
  }
}
