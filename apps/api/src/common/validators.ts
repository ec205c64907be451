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
/**
 * What a mail client may put in an SMTP command's argument (RFC 5321
 * §4.1.1): anything but the CR and LF that end the line (and NUL, which no
 * text column holds). Diagnostics take the HELO argument as it was sent,
 * controls included, because Postfix judges it as it was sent.
 */
export const SMTP_ARGUMENT_CONTROL_CHARACTERS = /[\0\r\n]|\p{Cs}/u;

/** The kinds of text a field may hold; a field that names none is `strict`. */
export type TextKind = 'strict' | 'free' | 'smtp-argument';

const RULES: Record<TextKind, { pattern: RegExp; problem: string }> = {
  strict: { pattern: CONTROL_CHARACTERS, problem: 'must not contain control characters' },
  free: { pattern: FREE_TEXT_CONTROL_CHARACTERS, problem: 'must not contain control characters other than tab and line breaks' },
  'smtp-argument': { pattern: SMTP_ARGUMENT_CONTROL_CHARACTERS, problem: 'must not contain NUL, CR or LF' },
};

/** The validation metadata name of every text kind but `strict` (the pipe leaves such fields to their own rule). */
export const TEXT_KIND_RULE = 'textKind';

/** Why a string breaks the text rule of its kind, or undefined when it does not. */
export function textProblem(value: string, kind: TextKind): string | undefined {
  if (/\p{Cs}/u.test(value)) {
    return 'must be well-formed Unicode (it holds a lone surrogate)';
  }
  return RULES[kind].pattern.test(value) ? RULES[kind].problem : undefined;
}

function textKindRule(kind: Exclude<TextKind, 'strict'>): PropertyDecorator {
  return ValidateBy({
    name: TEXT_KIND_RULE,
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || textProblem(value, kind) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property ?? 'value'} ${textProblem(String(args?.value ?? ''), kind) ?? 'is not valid text'}`,
    },
  });
}

/**
 * Marks a field as free text, which may hold tabs and line breaks. Every
 * other string in a body or query is refused with any control character
 * (the validation pipe checks them all, so a field nobody marked is strict).
 */
export function FreeText(): PropertyDecorator {
  return textKindRule('free');
}

/** Marks a field as an SMTP command argument taken as sent (see SMTP_ARGUMENT_CONTROL_CHARACTERS). */
export function SmtpArgument(): PropertyDecorator {
  return textKindRule('smtp-argument');
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
