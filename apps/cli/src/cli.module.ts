import { Module, type DynamicModule } from '@nestjs/common';
import { AccessModule } from '@app/access';
import { ConfigModule, type HeloPassConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { ExceptionsModule } from '@app/exceptions';
import { ImportModule } from './import/import.module.js';

/** What the command line needs: the database and the services it drives (never HTTP). */
@Module({})
export class CliModule {
  static forRoot(config: HeloPassConfig): DynamicModule {
    return { module: CliModule, imports: [ConfigModule.forRoot(config), DatabaseModule, AccessModule, ExceptionsModule, ImportModule] };
  }
}
