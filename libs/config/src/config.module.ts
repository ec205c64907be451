import { Global, Module } from '@nestjs/common';
import { loadConfig, type HeloPassConfig } from './config.js';

/** Injection token for the validated configuration object. */
export const HELOPASS_CONFIG = Symbol('HELOPASS_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  /** Provides the given configuration (or the one read from the environment) app-wide. */
  static forRoot(config: HeloPassConfig = loadConfig()) {
    return {
      module: ConfigModule,
      providers: [{ provide: HELOPASS_CONFIG, useValue: config }],
      exports: [HELOPASS_CONFIG],
    };
  }
}
