import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiHeader, ApiPreconditionFailedResponse, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { ProblemResponseDto } from './problem.dto.js';

/** Documents what every write accepts: Idempotency-Key, and If-Match where the resource is versioned. */
export function ApiWrite(options: { ifMatch?: boolean } = {}) {
  const decorators = [
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'Same key and body: the first response again; same key, other body: 422',
    }),
    ApiBadRequestResponse({ description: 'Invalid or unknown fields', type: ProblemResponseDto }),
    ApiUnprocessableEntityResponse({ description: 'A rule forbids it, or the Idempotency-Key was used for another request', type: ProblemResponseDto }),
  ];
  if (options.ifMatch) {
    decorators.push(
      ApiHeader({ name: 'If-Match', required: false, description: 'The ETag last read; 412 when the resource changed since' }),
      ApiPreconditionFailedResponse({ description: 'Stale If-Match', type: ProblemResponseDto }),
    );
  }
  return applyDecorators(...decorators);
}
