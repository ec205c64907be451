import {
  createParamDecorator,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';

import { Versioned } from '@app/domain';

export { Versioned };

export function etagOf(version: number): string {
  return `"${version}"`;
}

@Injectable()
export class EtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((result: unknown) => {
        if (result instanceof Versioned) {
          context.switchToHttp().getResponse<FastifyReply>().header('etag', etagOf(result.version));
          return result.value;
        }
        return result;
      }),
    );
  }
}

/**
 * The version an `If-Match` header asks for: undefined when absent or `*`,
 * -1 when it names no version we issue (so it can never match: 412).
 */
export const IfMatch = createParamDecorator((_data: unknown, ctx: ExecutionContext): number | undefined => {
  const header = ctx.switchToHttp().getRequest<FastifyRequest>().headers['if-match'];
  if (header === undefined || header.trim() === '*') {
    return undefined;
  }
  const match = /^\s*"(\d{1,9})"\s*$/.exec(header);
  return match ? Number(match[1]) : -1;
});
