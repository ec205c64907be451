import { Module } from '@nestjs/common';
import { AccessModule } from '@app/access';
import { OwnershipModule } from '@app/ownership';
import { ImportRepository } from './import.repository.js';
import { MapImportService } from './map-import.service.js';

/** `import`: hand-kept Postfix maps into mail servers and exceptions (ExceptionsModule is global). */
@Module({
  imports: [AccessModule, OwnershipModule],
  providers: [ImportRepository, MapImportService],
  exports: [MapImportService],
})
export class ImportModule {}
