import { Module } from '@nestjs/common';
import { DiagnosticsModule } from '../diagnostics/diagnostics.module.js';
import { PublicHeloCheckController } from './public-helo-check.controller.js';

/** What anyone may ask without a key: the HELO self-check. */
@Module({
  imports: [DiagnosticsModule],
  controllers: [PublicHeloCheckController],
})
export class PublicCheckModule {}
