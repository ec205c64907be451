import { Module } from '@nestjs/common';
import { AccessModule } from '@app/access';
import { OwnershipModule } from '@app/ownership';
import { RegistryModule } from '@app/registry';
import { MapImportService } from './map-import.service.js';

/** `import`: hand-kept Postfix maps into mail servers and exceptions (ExceptionsModule is global). */
@Module({
  imports: [AccessModule, OwnershipModule, RegistryModule],
  providers: [MapImportService],
  exports: [MapImportService],
})
export class ImportModule {}
