import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy, ValidateIf, type ValidationArguments } from 'class-validator';
import { parseInstant } from '@app/domain';

/**
 * Control characters (C0, DEL, C1) and lone surrogates. PostgreSQL text
 * cannot hold U+0000 at all; a lone surrogate has no UTF-8 form, so it would
 * be stored as U+FFFD, not as sent; the other controls have no business in
 * a name, a reference or a search term, and are how log lines and
 * terminal output get forged.
 */
export const CONTROL_CHARACTERS = /[\p{Cc}\p{Cs}]/u;
/** In free text (notes, reasons) a person may also break lines and indent. */
export const FREE_TEXT_CONTROL_CHARACTERS = /(?![\t\n\r])\p{Cc}|\p{Cs}/u;

export const FREE_TEXT = 'isFreeText';

/** Why a string breaks the text rule, or undefined when it does not. */
export function textProblem(value: string, freeText: boolean): string | undefined {
  if (/\p{Cs}/u.test(value)) {
    return 'must be well-formed Unicode (it holds a lone surrogate)';
  }
  if ((freeText ? FREE_TEXT_CONTROL_CHARACTERS : CONTROL_CHARACTERS).test(value)) {
    return freeText ? 'must not contain control characters other than tab and line breaks' : 'must not contain control characters';
  }
  return undefined;
}

/**
 * Marks a field as free text, which may hold tabs and line breaks. Every
 * other string in a body or query is refused with any control character
 * (the validation pipe checks them all, so a field nobody marked is strict).
 */
export function FreeText(): PropertyDecorator {
  return ValidateBy({
    name: FREE_TEXT,
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || textProblem(value, true) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property ?? 'value'} ${textProblem(String(args?.value ?? ''), true) ?? 'is not valid text'}`,
    },
  });
}

/**
 * An instant: an RFC 3339 date-time with an offset, between the years 0001
 * and 9999 (see parseInstant). Anything else stays as sent and is refused
 * with a 400 naming the field.
 */
export function IsInstant(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? (parseInstant(value) ?? value) : value)),
    ValidateBy({
      name: 'isInstant',
      validator: {
        validate: (value: unknown) => value instanceof Date,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'value'} must be an ISO-8601 date-time with a time zone (e.g. 2026-12-01T09:00:00Z) between the years 0001 and 9999`,
      },
    }),
  );
}

/**
 * An optional field: it may be absent, but null is a value like any other
 * and must pass the field's checks. class-validator's IsOptional() waves
 * null through every check, so `{"addresses": null}` reached the services.
 * A field that null clears says so with `ValidateIf((_, value) => value !== null)`.
 */
export function IsOptionalNonNull(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
