import { Module } from '@nestjs/common';
import { AccessModule } from '@app/access';
import { ConsolePagesController } from './console-pages.controller.js';
import { ConsoleSessionController } from './console-session.controller.js';
import { ConsoleSessionsRepository } from './console-sessions.repository.js';
import { ConsoleSessionsService } from './console-sessions.service.js';

/** The web console: its pages, and the exchange of an API key for a session. */
@Module({
  imports: [AccessModule],
  controllers: [ConsoleSessionController, ConsolePagesController],
  providers: [ConsoleSessionsRepository, ConsoleSessionsService],
  exports: [ConsoleSessionsService],
})
export class ConsoleModule {}
