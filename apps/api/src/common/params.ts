import { Injectable, Param, type PipeTransform } from '@nestjs/common';
import { NotFoundError } from '@app/domain';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id that is not a UUID names no resource: 404, as for any unknown id. */
@Injectable()
class ResourceIdPipe implements PipeTransform<string, string> {
  constructor(private readonly resource: string) {}

  transform(value: string): string {
    if (!UUID.test(value)) {
      throw new NotFoundError(this.resource);
    }
    return value.toLowerCase();
  }
}

/** `@IdParam('Organization') id: string`: the `:id` path parameter, checked to be a UUID. */
export const IdParam = (resource: string, name = 'id') => Param(name, new ResourceIdPipe(resource));
