/**
 * The app's operations as its own OpenAPI document (`GET /docs/json`)
 * declares them, so specs that must cover "every route" cover a route added
 * later without being told about it.
 */

/** The part of a JSON Schema (OpenAPI 3.0 flavour) the generators read. */
export interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  example?: unknown;
  $ref?: string;
  allOf?: Schema[];
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** The OpenAPI path template, e.g. `/v1/organizations/{id}`. */
  path: string;
  /** `x-roles`: the roles the route admits. */
  roles: string[];
  parameters: Parameter[];
  /** The JSON body's schema with every `$ref` resolved, when the operation takes one. */
  body?: Schema;
  /** The lowest 2xx status the operation documents. */
  successStatus: number;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface RawOperation {
  parameters?: Array<{ name: string; in: Parameter['in']; required?: boolean; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, unknown>;
  'x-roles'?: string[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Inlines `$ref`s and merges `allOf`, to the depth a DTO has. */
export function resolveSchema(document: OpenApiDocument, schema: Schema, depth = 0): Schema {
  if (depth > 8) {
    return {};
  }
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = document.components?.schemas?.[name];
    if (target === undefined) {
      throw new Error(`the document refers to a schema it does not define: ${schema.$ref}`);
    }
    return resolveSchema(document, target, depth + 1);
  }
  if (schema.allOf !== undefined) {
    return schema.allOf.reduce<Schema>((merged, part) => {
      const resolved = resolveSchema(document, part, depth + 1);
      return {
        ...merged,
        ...resolved,
        properties: { ...merged.properties, ...resolved.properties },
        required: [...(merged.required ?? []), ...(resolved.required ?? [])],
      };
    }, {});
  }
  const resolved: Schema = { ...schema };
  if (schema.items !== undefined) {
    resolved.items = resolveSchema(document, schema.items, depth + 1);
  }
  if (schema.properties !== undefined) {
    resolved.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, property]) => [name, resolveSchema(document, property, depth + 1)]),
    );
  }
  return resolved;
}

export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const raw = item[method];
      if (raw === undefined) {
        continue;
      }
      const bodySchema = raw.requestBody?.content?.['application/json']?.schema;
      const successes = Object.keys(raw.responses ?? {})
        .map(Number)
        .filter((status) => status >= 200 && status < 300)
        .sort((a, b) => a - b);
      operations.push({
        method,
        path,
        roles: raw['x-roles'] ?? [],
        parameters: (raw.parameters ?? []).map((parameter) => ({
          name: parameter.name,
          in: parameter.in,
          required: parameter.required ?? false,
          schema: resolveSchema(document, parameter.schema ?? {}),
        })),
        body: bodySchema === undefined ? undefined : resolveSchema(document, bodySchema),
        successStatus: successes[0] ?? 200,
      });
    }
  }
  return operations;
}

/** `/v1/x/{id}` with its parameters filled in (already encoded for a path segment). */
export function fillPath(template: string, values: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new Error(`no value for path parameter ${name} of ${template}`);
    }
    return value;
  });
}
