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

/**
 * Which failed check speaks for a field when several did: a wrong type
 * first (a length limit says nothing useful about a number), then the
 * text rule (a control character is what is wrong, whatever the length),
 * then emptiness and size, then format and the product's own checks, in
 * the order class-validator ran them.
 */
const CONSTRAINT_PRIORITY = [
  'whitelistValidation',
  'isArray',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isObject',
  TEXT_KIND_RULE,
  'isNotEmpty',
  'arrayMinSize',
  'arrayMaxSize',
  'minLength',
  'maxLength',
  'min',
  'max',
];
const rank = (constraint: string) => {
  const index = CONSTRAINT_PRIORITY.indexOf(constraint);
  return index === -1 ? CONSTRAINT_PRIORITY.length : index;
};

/** The one message a field answers: "is required" when it is missing, else its most relevant failed check. */
function fieldMessage(error: ValidationError): string | undefined {
  const failed = Object.entries(error.constraints ?? {});
  if (failed.length === 0) {
    return undefined;
  }
  // The value is read here only to tell "absent" from "wrong"; it never reaches a message.
  if (error.value === undefined && !failed.some(([constraint]) => constraint === 'whitelistValidation')) {
    return 'is required';
  }
  const [constraint, message] = failed.reduce((best, next) => (rank(next[0]) < rank(best[0]) ? next : best));
  if (constraint === 'whitelistValidation') {
    return 'is not an allowed field';
  }
  // class-validator's messages start with the property name; the problem names the field separately.
  return message.startsWith(error.property + ' ') ? message.slice(error.property.length + 1) : message;
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const property = fieldName(error.property);
    const field = parent ? `${parent}.${property}` : property;
    const message = fieldMessage(error);
    return [...(message === undefined ? [] : [{ field, message }]), ...flatten(error.children ?? [], field)];
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
 * The one validation pipe: unknown fields refused, one message per invalid
 * field ("is required" for a missing one), values never echoed in
 * messages, and every string of a body or query held to the text rule
 * (validators.ts), so a field added later is covered without being told.
 */
class HeloPassValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'body' && metadata.type !== 'query') {
      return super.transform(value, metadata);
    }
    const text = textErrors(value, metadata);
    let transformed: unknown;
    try {
      transformed = await super.transform(value, metadata);
    } catch (error) {
      // A control character is what is wrong with a field that also fails its checks: it speaks first.
      if (error instanceof ValidationProblemException && text.length > 0) {
        throw new ValidationProblemException([...text, ...error.fieldErrors]);
      }
      throw error;
    }
    if (text.length > 0) {
      throw new ValidationProblemException(text);
    }
    return transformed;
  }
}

export function createValidationPipe(): ValidationPipe {
  return new HeloPassValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // The value stays in class-validator's errors only to tell a missing field (fieldMessage); never in a message.
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => new ValidationProblemException(flatten(errors)),
  });
}
