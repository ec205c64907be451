import { canonicalJson } from './canonical-json.js';

/** One field an event changed, with a line a person reads. */
export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
  /** `status: active → suspended`, `notes: set to "…"`, `description: removed` */
  text: string;
}

/** Bookkeeping that changes with every write and tells an auditor nothing. */
const NOT_A_CHANGE = new Set(['updatedAt', 'version']);
const SHOWN = 80;

function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
  return text.length > SHOWN ? `${text.slice(0, SHOWN - 1)}…` : text;
}

/**
 * What an event changed, field by field (top-level fields of before and
 * after, in name order): a creation lists what was set, a removal what was
 * removed. Values compare as canonical JSON, so key order never counts.
 */
export function describeChanges(before: unknown, after: unknown): FieldChange[] {
  const b = before !== null && typeof before === 'object' && !Array.isArray(before) ? (before as Record<string, unknown>) : {};
  const a = after !== null && typeof after === 'object' && !Array.isArray(after) ? (after as Record<string, unknown>) : {};
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((field) => !NOT_A_CHANGE.has(field)).sort();
  const changes: FieldChange[] = [];
  for (const field of fields) {
    const was = b[field] ?? null;
    const is = a[field] ?? null;
    if (canonicalJson(was) === canonicalJson(is)) {
      continue;
    }
    const text =
      was === null ? `${field}: set to ${shown(is)}` : is === null ? `${field}: removed (was ${shown(was)})` : `${field}: ${shown(was)} → ${shown(is)}`;
    changes.push({ field, before: was, after: is, text });
  }
  return changes;
}
