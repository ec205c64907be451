import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { ValidationProblemException, type FieldError } from './problem.js';
import { TEXT_KIND_RULE, textProblem } from './validators.js';

/** Deeper than any body the API takes; bounds the recursion of everything that walks a body. */
export const MAX_BODY_DEPTH = 16;

/** The body depth check, run by configureApp() before any interceptor or pipe walks the body. */
export function assertBodyDepth(body: unknown): void {
  if (nestedDeeperThan(body, MAX_BODY_DEPTH)) {
    throw new ValidationProblemException([{ field: 'body', message: `is nested more than ${MAX_BODY_DEPTH} levels deep` }]);
  }
}

/** A field name from the request, or a stand-in when it is not one we could have declared (never echoed). */
function fieldName(name: string): string {
  return /^[A-Za-z0-9_.[\]-]{1,100}$/.test(name) ? name : '(a field with an invalid name)';
}

/** class-validator's messages start with the property name; the problem names the field separately. */
function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const property = fieldName(error.property);
    const field = parent ? `${parent}.${property}` : property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) => ({
      field,
      message:
        constraint === 'whitelistValidation'
          ? 'is not an allowed field'
          : message.startsWith(error.property + ' ')
            ? message.slice(error.property.length + 1)
            : message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** True when `value` nests objects or arrays deeper than `limit` (walked without recursion). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') {
      continue;
    }
    if (depth >= limit) {
      return true;
    }
    for (const child of Object.values(current)) {
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

/** The fields a DTO gives a text kind of their own, @FreeText() or @SmtpArgument() (inherited ones included, PartialType's copies too). */
function freeTextFields(metatype: ArgumentMetadata['metatype']): Set<string> {
  if (typeof metatype !== 'function') {
    return new Set();
  }
  return new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(metatype, '', true, false)
      .filter((metadata) => metadata.name === TEXT_KIND_RULE)
      .map((metadata) => metadata.propertyName),
  );
}

/** Every string of a body or query that breaks the text rule, named by its path (fields with a text kind of their own are left to its rule). */
function textErrors(value: unknown, metadata: ArgumentMetadata): FieldError[] {
  const errors: FieldError[] = [];
  const skip = freeTextFields(metadata.metatype);
  const visit = (current: unknown, path: string) => {
    if (typeof current === 'string') {
      const problem = textProblem(current, 'strict');
      if (problem !== undefined) {
        errors.push({ field: path || (metadata.data ?? metadata.type), message: problem });
      }
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        if (path === '' && skip.has(key)) {
          continue;
        }
        visit(child, path === '' ? fieldName(key) : `${path}.${fieldName(key)}`);
      }
    }
  };
  visit(value, metadata.data === undefined ? '' : fieldName(metadata.data));
  return errors;
}

/**
 * The one validation pipe: unknown fields refused, values never echoed in
 * messages, and every string of a body or query held to the text rule
 * (validators.ts), so a field added later is covered without being told.
 */
class HeloPassValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'body' && metadata.type !== 'query') {
      return super.transform(value, metadata);
    }
    const text = textErrors(value, metadata);
    try {
      const transformed: unknown = await super.transform(value, metadata);
      if (text.length > 0) {
        throw new ValidationProblemException(text);
      }
      return transformed;
    } catch (error) {
      if (error instanceof ValidationProblemException && text.length > 0 && error.fieldErrors !== text) {
        throw new ValidationProblemException([...text, ...error.fieldErrors]);
      }
      throw error;
    }
  }
}

export function createValidationPipe(): ValidationPipe {
  return new HeloPassValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationProblemException(flatten(errors)),
  });
}
