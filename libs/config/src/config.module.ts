import { Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from '@app/domain';
import { loadConfig, type HeloPassConfig } from './config.js';

/** Injection token for the validated configuration object. */
export const HELOPASS_CONFIG = Symbol('HELOPASS_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  /** Provides the configuration (or the one read from the environment) and the clock app-wide. */
  static forRoot(config: HeloPassConfig = loadConfig(), clock: Clock = new SystemClock()) {
    return {
      module: ConfigModule,
      providers: [
        { provide: HELOPASS_CONFIG, useValue: config },
        { provide: Clock, useValue: clock },
      ],
      exports: [HELOPASS_CONFIG, Clock],
    };
  }
}
