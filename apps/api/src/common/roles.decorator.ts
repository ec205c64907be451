import { applyDecorators, SetMetadata } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiExtension,
  ApiForbiddenResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Role } from '@app/domain';
import { ProblemResponseDto } from './problem.dto.js';

export const ROLES_KEY = 'helopass:roles';
export const PUBLIC_KEY = 'helopass:public';
export const BASIC_AUTH_KEY = 'helopass:basic-auth';

/**
 * The roles allowed on a route. Every route must have this or `@Public()`:
 * the guard refuses a route that has neither. Also documents the rule in
 * OpenAPI (`x-roles`, 401 and 403 responses).
 */
export function Roles(...roles: Role[]) {
  return applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    ApiBearerAuth(),
    ApiExtension('x-roles', roles),
    ApiUnauthorizedResponse({ description: 'No API key, or an unknown, revoked or expired one', type: ProblemResponseDto }),
    ApiForbiddenResponse({ description: `Allowed roles: ${roles.join(', ')}`, type: ProblemResponseDto }),
  );
}

/** Like `Roles`, and also accepts HTTP Basic with the key as password (rspamd map URLs). */
export function RolesWithBasicAuth(...roles: Role[]) {
  return applyDecorators(Roles(...roles), SetMetadata(BASIC_AUTH_KEY, true), ApiBasicAuth());
}

/** A route that answers without a key: health and API docs only. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
