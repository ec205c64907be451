import fc from 'fast-check';
import type { Parameter, Schema } from './openapi-operations.js';

/**
 * fast-check generators of what a hostile or careless client sends: control
 * characters, NUL, lone surrogates, huge values, wrong types, forged cursors,
 * SQL and LIKE metacharacters. Valid values come from the schema (and the
 * fixtures' ids), so a case is often "valid but for one field" and reaches
 * the services, not only the validation pipe.
 */

/** What generators need to know about the database they aim at. */
export interface Targets {
  /** Ids of existing resources of every kind (never of the keys the spec itself uses). */
  ids: string[];
  /** The same ids by the collection they are found in: `organizations`, `mail-servers`, … */
  idsIn: Record<string, string[]>;
  /** Cursors the API really issued, to mutate. */
  cursors: string[];
}

/** A JSON fragment written as is (`-0`, `1e400`), which JSON.stringify cannot produce. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A query value already percent-encoded (or deliberately mis-encoded). */
export class RawQuery {
  constructor(readonly text: string) {}
}

export type QueryValue = string | RawQuery;

const SPECIALS = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u009f',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\uFEFF',
  '\uFFFE',
  '\uFFFF',
  '\u200B',
  '\u202E',
  '\u2028',
  '😀',
  'ß',
  'İ',
  '%',
  '_',
  '\\',
  '\\%',
  '%%',
  '\\_',
  "'",
  '"',
  '`',
  ';',
  '*',
  "' OR 1=1 --",
  "'; DROP TABLE organizations; --",
  '%00',
  '../',
  '$ne',
  '{"$gt":""}',
  '${7*7}',
  '<script>',
  '[192.0.2.1]',
  '.',
  '..',
  ' ',
];

const WORDS = ['a', 'exch01', 'corp.local', 'example.com', '192.0.2.10', '2001:db8::/64', 'x'.repeat(63), 'Widgets'];

/** Strings a careless or hostile client sends: mostly short mixes of words and nasty characters, sometimes huge. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.oneof(fc.constantFrom(...SPECIALS), fc.constantFrom(...WORDS)), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000'.repeat(3)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', '%', '\u0000', '\uD800', 'é'), fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 65, max: 5000 }) }, { weight: 1, arbitrary: fc.integer({ min: 5000, max: 30_000 }) }))
      .map(([unit, count]) => unit.repeat(count)),
  },
);

/** Instants at and past the edges of what JavaScript, ISO 8601 and PostgreSQL can hold. */
export const HOSTILE_DATES = [
  '+275760-09-13T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00Z',
  '+010000-01-01T00:00:00Z',
  '10000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '0000-01-01',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '2026-02-30T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-12-01T25:00:00Z',
  '2026-12-01',
  '2026-12-01T00:00:00+14:00',
  '2026-12-01T00:00:00-12:00',
  '2026-12-01 00:00:00',
  'now',
  'Tue, 01 Dec 2026 00:00:00 GMT',
  '1e10',
  '8640000000000000',
  '-8640000000000001',
  '1764547200000',
];

/** Numbers at the edges: huge, negative, fractional, not finite, as text. */
export const HOSTILE_NUMBER_TEXTS = [
  '0',
  '-0',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '1e400',
  '9007199254740993',
  '2147483648',
  '-2147483649',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '1_000',
  ' 5',
  '5 ',
  '١',
  '9'.repeat(400),
];

/** Body values of the wrong type or shape, and numbers JSON.stringify cannot write. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { weight: 5, arbitrary: hostileString },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_DATES) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_NUMBER_TEXTS).map((text) => (/^-?[0-9.e]+$/.test(text) ? new RawJson(text) : text)) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.1, true, false, null) },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(hostileKey(), tie('value'), { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((depth) => nested(depth)) },
  ),
})).value;

function nested(depth: number): unknown {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i += 1) {
    value = i % 2 === 0 ? { a: value } : [value];
  }
  return value;
}

/** Field names that no DTO declares, including the ones prototype pollution tries. */
function hostileKey(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'createdAt', 'status', 'organizationId', 'role', '', ' ', '\u0000', '\uD800', 'a.b', '$where'),
    fc.string({ maxLength: 12 }),
  );
}

/** A value valid for `schema` (ids from the fixtures, instants near now). */
export function validValue(schema: Schema, targets: Targets, name = ''): fc.Arbitrary<unknown> {
  if (schema.enum !== undefined && schema.enum.length > 0) {
    return fc.constantFrom(...schema.enum);
  }
  if (schema.format === 'uuid') {
    return existingId(targets, collectionNamed(name));
  }
  if (schema.format === 'date-time') {
    return fc.integer({ min: -30, max: 400 }).map((days) => new Date(Date.now() + days * 86_400_000).toISOString());
  }
  if (schema.example !== undefined && (typeof schema.example !== 'object' || Array.isArray(schema.example))) {
    return fc.constant(schema.example);
  }
  switch (schema.type) {
    case 'array':
      return fc.array(validValue(schema.items ?? { type: 'string' }, targets), { minLength: 1, maxLength: 3 });
    case 'number':
    case 'integer':
      return fc.integer({ min: schema.minimum ?? 0, max: schema.maximum ?? 1000 });
    case 'boolean':
      return fc.boolean();
    case 'object':
      return schema.properties === undefined ? fc.constant({}) : validObject(schema, targets);
    default: {
      const minLength = Math.max(schema.minLength ?? 1, 1);
      const maxLength = Math.max(Math.min(schema.maxLength ?? 40, 40), minLength);
      return fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789 -'), minLength, maxLength }).map((text) => `V${text}`.slice(0, maxLength));
    }
  }
}

/** `mailServerId` → `mail-servers`: where ids for a field of that name are found. */
function collectionNamed(field: string): string {
  return field.replace(/Id$/, '').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`) + 's';
}

/** An existing id, mostly of the collection asked for (when the fixtures have one), sometimes of any kind. */
function existingId(targets: Targets, collection: string | undefined): fc.Arbitrary<string> {
  const own = collection === undefined ? undefined : targets.idsIn[collection];
  const any = fc.constantFrom(...targets.ids);
  return own === undefined || own.length === 0 ? any : fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...own) }, { weight: 1, arbitrary: any });
}

function validObject(schema: Schema, targets: Targets): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const model = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, validValue(property, targets, name)]));
  return fc.record(model, { requiredKeys: (schema.required ?? []).filter((name) => name in properties) }) as fc.Arbitrary<Record<string, unknown>>;
}

/** A hostile value aimed at one field: by its type (dates for instants, ids for UUIDs) or anything at all. */
function hostileFor(schema: Schema, targets: Targets, name = ''): fc.Arbitrary<unknown> {
  const aimed: Array<fc.Arbitrary<unknown>> = [hostileJson];
  if (schema.format === 'date-time') {
    aimed.push(fc.constantFrom(...HOSTILE_DATES));
  }
  if (schema.format === 'uuid') {
    aimed.push(fc.uuid(), idLike(targets));
  }
  if (schema.type === 'array') {
    aimed.push(fc.array(hostileString, { maxLength: 70 }), fc.array(validValue(schema.items ?? {}, targets), { minLength: 0, maxLength: 80 }));
  }
  if (schema.type === 'string' || schema.type === undefined) {
    aimed.push(
      validValue(schema, targets, name).chain((valid) =>
        fc.tuple(fc.constantFrom(...SPECIALS), fc.nat({ max: String(valid).length })).map(([special, at]) => {
          const text = String(valid);
          return text.slice(0, at) + special + text.slice(at);
        }),
      ),
    );
  }
  return fc.oneof(...aimed);
}

/** Ids that look almost right: other case, braces, truncated, with a NUL. */
function idLike(targets: Targets): fc.Arbitrary<string> {
  return fc.constantFrom(...targets.ids).chain((id) =>
    fc.constantFrom(id.toUpperCase(), `{${id}}`, id.slice(0, 35), `${id}\u0000`, `${id} `, id.replace(/-/g, ''), `${id}/..`),
  );
}

type Mutation = { kind: 'set'; key: string; value: unknown } | { kind: 'delete'; key: string };

/**
 * A request body for `schema`, as raw JSON text: a valid body with up to
 * three fields spoiled, removed or added; or something that is not the
 * object asked for at all; or text that is not quite JSON.
 */
export function hostileBody(schema: Schema, targets: Targets): fc.Arbitrary<string> {
  const properties = schema.properties ?? {};
  const names = Object.keys(properties);
  const mutation: fc.Arbitrary<Mutation> =
    names.length === 0
      ? hostileKey().chain((key) => hostileJson.map((value): Mutation => ({ kind: 'set', key, value })))
      : fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...names).chain((key) => hostileFor(properties[key]!, targets, key).map((value): Mutation => ({ kind: 'set', key, value }))) },
          { weight: 1, arbitrary: fc.constantFrom(...names).map((key): Mutation => ({ kind: 'delete', key })) },
          { weight: 1, arbitrary: hostileKey().chain((key) => hostileJson.map((value): Mutation => ({ kind: 'set', key, value }))) },
        );
  const spoiled = fc.tuple(validObject(schema, targets), fc.array(mutation, { maxLength: 3 })).map(([body, mutations]) => {
    const result: Record<string, unknown> = { ...body };
    for (const change of mutations) {
      if (change.kind === 'delete') {
        delete result[change.key];
      } else {
        result[change.key] = change.value;
      }
    }
    return toJsonText(result);
  });
  const notAnObject = hostileJson.map(toJsonText);
  const notJson = fc.constantFrom(
    '',
    '{',
    '{"a":}',
    "{'name':'x'}",
    '{"name":"\\u0000"}',
    '{"name":"\\ud800"}',
    '{"name":"x","name":"y"}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '[' .repeat(2000) + ']'.repeat(2000),
    '{"a":'.repeat(1000) + '1' + '}'.repeat(1000),
    'null',
    '\u0000',
    '\uFEFF{}',
  );
  return fc.oneof({ weight: 8, arbitrary: spoiled }, { weight: 1, arbitrary: notAnObject }, { weight: 1, arbitrary: notJson });
}

/** JSON text for a generated value, writing RawJson fragments as they are. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) {
    return value.text;
  }
  if (Array.isArray(value)) {
    return `[${value.map(toJsonText).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, entry]) => `${JSON.stringify(key)}:${toJsonText(entry)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Cursors we never issued: forged positions, odd shapes, mangled real ones. */
export function hostileCursor(targets: Targets): fc.Arbitrary<QueryValue> {
  const position = fc.tuple(
    fc.oneof(fc.constantFrom<unknown>(...HOSTILE_DATES, new Date().toISOString()), hostileJson),
    fc.oneof(fc.uuid(), fc.constantFrom(...targets.ids), hostileJson),
  );
  const forged = fc.oneof(
    position.map(([at, id]) => base64url(toJsonText([at, id]))),
    position.map(([at, id]) => base64url(toJsonText({ at, id }))),
    position.map(([at, id]) => base64url(toJsonText([at, id, 'extra']))),
    hostileJson.map((value) => base64url(toJsonText(value))),
    fc.string({ unit: 'binary', maxLength: 60 }).map(base64url),
    fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/'), maxLength: 120 }),
  );
  const mangled =
    targets.cursors.length === 0
      ? forged
      : fc.tuple(fc.constantFrom(...targets.cursors), fc.nat(), fc.constantFrom('=', 'A', '%', '\u0000', '+', '/', ' ')).map(([cursor, at, insert]) => {
          const index = at % (cursor.length + 1);
          return cursor.slice(0, index) + insert + cursor.slice(index + 1);
        });
  return fc.oneof(
    { weight: 4, arbitrary: forged },
    { weight: 2, arbitrary: mangled },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.constantFrom(new RawQuery('%'), new RawQuery('%zz'), new RawQuery('%C0%80'), new RawQuery('%ED%A0%80')) },
  );
}

/** Percent-encoding that also writes lone surrogates (as WTF-8), which encodeURIComponent refuses. */
export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    if (/^[A-Za-z0-9\-._~]$/.test(char)) {
      out += char;
      continue;
    }
    const code = char.codePointAt(0)!;
    const bytes =
      code >= 0xd800 && code <= 0xdfff
        ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        : [...Buffer.from(char, 'utf8')];
    out += bytes.map((byte) => '%' + byte.toString(16).toUpperCase().padStart(2, '0')).join('');
  }
  return out;
}

/** Bytes that are not valid percent-encoding or not valid UTF-8 once decoded. */
const RAW_QUERY_GARBAGE = ['%', '%2', '%zz', '%00', '%C0%80', '%FF%FE', '%E2%80', '%ED%A0%80', '%F4%90%80%80', '+', '%2B', '&', '=', '%25%32%35'];

function hostileQueryValue(schema: Schema, name: string, targets: Targets): fc.Arbitrary<QueryValue> {
  const options: Array<{ weight: number; arbitrary: fc.Arbitrary<QueryValue> }> = [
    { weight: 3, arbitrary: validValue(schema, targets, name).map((value) => String(value)) },
    { weight: 4, arbitrary: hostileFor(schema, targets, name).map((value) => (typeof value === 'string' ? value : toJsonText(value))) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NUMBER_TEXTS) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERY_GARBAGE).map((text) => new RawQuery(text)) },
  ];
  if (name === 'cursor' || name === 'asOf' || schema.format === 'date-time') {
    options.push({ weight: 3, arbitrary: name === 'cursor' ? hostileCursor(targets) : fc.constantFrom(...HOSTILE_DATES) });
  }
  return fc.oneof(...options);
}

/**
 * A query string for these declared parameters: some of them (valid or
 * hostile, sometimes repeated), plus parameters the route does not declare.
 */
export function hostileQuery(parameters: Parameter[], unknownNames: string[], targets: Targets): fc.Arbitrary<string> {
  const declared = parameters.filter((parameter) => parameter.in === 'query');
  const entry = (parameter: Parameter) =>
    fc.array(hostileQueryValue(parameter.schema, parameter.name, targets), { minLength: 1, maxLength: 2 }).map((values) => values.map((value) => [parameter.name, value] as const));
  const declaredEntries = declared.length === 0 ? fc.constant([]) : fc.subarray(declared).chain((chosen) => fc.tuple(...chosen.map(entry)).map((groups) => groups.flat()));
  const extra = fc.array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...unknownNames, 'q', 'cursor', 'asOf', 'limit[]', 'limit[$gt]', '__proto__', ''), hostileString),
      fc.oneof(hostileString, fc.constantFrom(...RAW_QUERY_GARBAGE).map((text) => new RawQuery(text))),
    ),
    { maxLength: 2 },
  );
  return fc
    .tuple(declaredEntries, fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: extra }))
    .map(([entries, extras]) => [...entries, ...extras].map(([key, value]) => `${percentEncode(key)}=${value instanceof RawQuery ? value.text : percentEncode(value)}`).join('&'));
}

/** A path segment for an id: an existing resource (of the collection the path names), an unknown UUID, or garbage. */
export function hostilePathValue(schema: Schema, targets: Targets, collection: string | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: schema.enum !== undefined ? fc.constantFrom(...schema.enum.map(String)) : existingId(targets, collection) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: idLike(targets).map(percentEncode) },
    { weight: 2, arbitrary: hostileString.filter((text) => text.length > 0).map(percentEncode) },
    { weight: 1, arbitrary: fc.constantFrom('%00', '%2F', '%2e%2e', '%ED%A0%80', '%', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff') },
  );
}

/** Header values Node will send (no controls but tab, nothing past U+00FF): ETags of every shape, keys too long or odd. */
const headerText = fc.string({ unit: fc.constantFrom(...' \t!"#%*,-./0123456789:;<=>?@AZ[\\]_`az{|}~éÿ'), maxLength: 40 });

/** Values for the headers an operation declares (If-Match, Idempotency-Key), each sometimes absent. */
export function hostileHeaders(parameters: Parameter[]): fc.Arbitrary<Record<string, string>> {
  const declared = parameters.filter((parameter) => parameter.in === 'header');
  const valueFor = (name: string): fc.Arbitrary<string> =>
    name.toLowerCase() === 'if-match'
      ? fc.oneof(fc.constantFrom('"1"', '"2"', '"0"', '*', '"-1"', '"1e308"', '"99999999999999999999"', 'W/"1"', '"1", "2"', '1', ''), headerText)
      : fc.oneof(fc.uuid(), fc.constantFrom('', ' ', 'k'.repeat(256), 'key with spaces', 'é'), headerText);
  return fc.record(Object.fromEntries(declared.map((parameter) => [parameter.name, valueFor(parameter.name)])), { requiredKeys: [] }) as fc.Arbitrary<
    Record<string, string>
  >;
}
