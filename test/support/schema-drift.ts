import { readFileSync } from 'node:fs';
import wasm from '@prisma/prisma-schema-wasm';
import pg from 'pg';

/**
 * Compares a live database with prisma/schema.prisma, the way `prisma migrate
 * diff` would (which needs the native engine these machines cannot fetch):
 * tables, columns (type, nullability, defaults), enums, primary keys, unique
 * and plain indexes, and foreign keys. Returns one line per difference.
 */

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isRequired: boolean;
  isList: boolean;
  isId: boolean;
  isUnique: boolean;
  hasDefaultValue: boolean;
  default?: { name?: string } | unknown;
  nativeType?: [string, string[]] | null;
  isUpdatedAt: boolean;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}

interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  uniqueIndexes: { fields: string[] }[];
  primaryKey: { fields: string[] } | null;
}

interface Dmmf {
  datamodel: {
    models: DmmfModel[];
    enums: { name: string; dbName?: string | null; values: { name: string }[] }[];
    indexes: { model: string; type: 'id' | 'unique' | 'normal' | 'fulltext'; fields: { name: string }[] }[];
  };
}

export function readDmmf(schemaPath = 'prisma/schema.prisma'): Dmmf {
  // The wasm reports panics through this global (see TOOLCHAIN.md).
  (globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY ??= { set_message: () => undefined };
  const schema = readFileSync(schemaPath, 'utf8');
  return JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schema]] }))) as Dmmf;
}

const column = (field: DmmfField) => field.dbName ?? field.name;
const table = (model: DmmfModel) => model.dbName ?? model.name;

/** The type PostgreSQL reports (format_type) for a Prisma field. */
function expectedType(field: DmmfField, enumDbNames: Map<string, string>): string {
  if (field.kind === 'enum') {
    return enumDbNames.get(field.type) ?? field.type;
  }
  const [native, args] = field.nativeType ?? [undefined, []];
  switch (native) {
    case 'Uuid':
      return 'uuid';
    case 'VarChar':
      return `character varying(${args[0]})`;
    case 'Char':
      return `character(${args[0]})`;
    case 'Inet':
      return 'inet';
    case 'Timestamptz':
      return `timestamp(${args[0] ?? 6}) with time zone`;
    case 'Text':
      return 'text';
    case undefined:
      break;
    default:
      return `unhandled native type ${native}`;
  }
  const scalar: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    BigInt: 'bigint',
    Boolean: 'boolean',
    DateTime: 'timestamp(3) without time zone',
    Json: 'jsonb',
    Float: 'double precision',
    Decimal: 'numeric(65,30)',
    Bytes: 'bytea',
  };
  return scalar[field.type] ?? `unhandled type ${field.type}`;
}

/** Whether Prisma puts a DEFAULT in the database for this field (uuid() and cuid() are made by the client). */
function expectsDatabaseDefault(field: DmmfField): boolean {
  if (!field.hasDefaultValue) {
    return false;
  }
  const name = (field.default as { name?: string } | undefined)?.name;
  return name !== 'uuid' && name !== 'cuid' && name !== 'nanoid';
}

export async function schemaDrift(connectionString: string, dmmf: Dmmf = readDmmf()): Promise<string[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const problems: string[] = [];
    const enumDbNames = new Map(dmmf.datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));

    const enums = await client.query<{ name: string; values: string[] }>(`
      SELECT t.typname::text AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
      JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' GROUP BY t.typname`);
    const liveEnums = new Map(enums.rows.map((row) => [row.name, row.values]));
    for (const e of dmmf.datamodel.enums) {
      const name = e.dbName ?? e.name;
      const live = liveEnums.get(name);
      const wanted = e.values.map((value) => value.name);
      if (!live) {
        problems.push(`enum ${name} is missing`);
      } else if (live.join() !== wanted.join()) {
        problems.push(`enum ${name} has ${live.join(',')} instead of ${wanted.join(',')}`);
      }
      liveEnums.delete(name);
    }
    for (const extra of liveEnums.keys()) {
      problems.push(`enum ${extra} is not in the schema`);
    }

    const columns = await client.query<{ table: string; column: string; type: string; nullable: boolean; hasDefault: boolean }>(`
      SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
             NOT a.attnotnull AS nullable, a.atthasdef AS "hasDefault"
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`);
    const liveTables = new Map<string, Map<string, (typeof columns.rows)[number]>>();
    for (const row of columns.rows) {
      if (!liveTables.has(row.table)) {
        liveTables.set(row.table, new Map());
      }
      liveTables.get(row.table)!.set(row.column, row);
    }

    const indexes = await client.query<{ table: string; columns: string[]; unique: boolean; primary: boolean }>(`
      SELECT t.relname AS table, i.indisunique AS unique, i.indisprimary AS primary,
             array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
      FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND i.indpred IS NULL AND i.indexprs IS NULL`);
    const hasIndex = (tableName: string, cols: string[], kind: 'primary' | 'unique' | 'normal') =>
      indexes.rows.some(
        (row) =>
          row.table === tableName &&
          row.columns.join() === cols.join() &&
          (kind === 'primary' ? row.primary : kind === 'unique' ? row.unique && !row.primary : !row.unique),
      );

    const foreignKeys = await client.query<{ table: string; columns: string[]; target: string; targetColumns: string[]; onDelete: string }>(`
      SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS target,
             array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
             array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS "targetColumns",
             c.confdeltype AS "onDelete"
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE c.contype = 'f' AND n.nspname = 'public'`);
    const deleteActions: Record<string, string> = { Cascade: 'c', Restrict: 'r', SetNull: 'n', NoAction: 'a', SetDefault: 'd' };

    const modelByName = new Map(dmmf.datamodel.models.map((model) => [model.name, model]));
    for (const model of dmmf.datamodel.models) {
      const tableName = table(model);
      const live = liveTables.get(tableName);
      if (!live) {
        problems.push(`table ${tableName} is missing`);
        continue;
      }
      const scalars = model.fields.filter((field) => field.kind !== 'object');
      for (const field of scalars) {
        const name = column(field);
        const liveColumn = live.get(name);
        if (!liveColumn) {
          problems.push(`${tableName}.${name} is missing`);
          continue;
        }
        const wantedType = expectedType(field, enumDbNames) + (field.isList ? '[]' : '');
        if (liveColumn.type !== wantedType) {
          problems.push(`${tableName}.${name} is ${liveColumn.type}, schema says ${wantedType}`);
        }
        // Prisma creates scalar lists as nullable arrays (its own migrations do the same).
        if (!field.isList && liveColumn.nullable === field.isRequired) {
          problems.push(`${tableName}.${name} is ${liveColumn.nullable ? 'nullable' : 'NOT NULL'}, schema disagrees`);
        }
        if (liveColumn.hasDefault !== expectsDatabaseDefault(field)) {
          problems.push(`${tableName}.${name} ${liveColumn.hasDefault ? 'has' : 'lacks'} a database default, schema disagrees`);
        }
        live.delete(name);
      }
      for (const extra of live.keys()) {
        problems.push(`${tableName}.${extra} is not in the schema`);
      }
      const idFields = model.primaryKey?.fields ?? scalars.filter((field) => field.isId).map((field) => field.name);
      const toColumns = (names: string[]) => names.map((name) => column(model.fields.find((f) => f.name === name)!));
      if (!hasIndex(tableName, toColumns(idFields), 'primary')) {
        problems.push(`${tableName} lacks its primary key (${idFields.join(', ')})`);
      }
      const uniques = [
        ...scalars.filter((field) => field.isUnique).map((field) => [field.name]),
        ...model.uniqueIndexes.map((index) => index.fields),
      ];
      for (const fields of uniques) {
        if (!hasIndex(tableName, toColumns(fields), 'unique')) {
          problems.push(`${tableName} lacks a unique index on (${toColumns(fields).join(', ')})`);
        }
      }
      for (const index of dmmf.datamodel.indexes.filter((i) => i.model === model.name && i.type === 'normal')) {
        const cols = toColumns(index.fields.map((f) => f.name));
        if (!hasIndex(tableName, cols, 'normal')) {
          problems.push(`${tableName} lacks an index on (${cols.join(', ')})`);
        }
      }
      for (const relation of model.fields.filter((field) => field.kind === 'object' && field.relationFromFields?.length)) {
        const target = modelByName.get(relation.type)!;
        const cols = toColumns(relation.relationFromFields!);
        const targetCols = relation.relationToFields!.map((name) => column(target.fields.find((f) => f.name === name)!));
        const fk = foreignKeys.rows.find(
          (row) => row.table === tableName && row.columns.join() === cols.join() && row.target === table(target),
        );
        if (!fk) {
          problems.push(`${tableName} lacks a foreign key (${cols.join(', ')}) → ${table(target)}`);
        } else if (fk.targetColumns.join() !== targetCols.join()) {
          problems.push(`${tableName} foreign key (${cols.join(', ')}) points at the wrong columns`);
        } else if (fk.onDelete !== deleteActions[relation.relationOnDelete ?? 'NoAction']) {
          problems.push(`${tableName} foreign key (${cols.join(', ')}) has the wrong ON DELETE`);
        }
      }
      liveTables.delete(tableName);
    }
    for (const extra of liveTables.keys()) {
      if (extra !== '_prisma_migrations') {
        problems.push(`table ${extra} is not in the schema`);
      }
    }
    return problems;
  } finally {
    await client.end();
  }
}
