/** One audit event as the API answers it. */
export interface AuditEvent {
  id: string;
  occurredAt: string;
  actor: { id: string | null; name: string; role: string; owner?: string | null };
  action: string;
  entityType: string;
  entityId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface FieldChange {
  field: string;
  before: string;
  after: string;
}

/** Fields that change on every write and say nothing to a reader. */
const NOISE = new Set(['updatedAt', 'version']);

function show(value: unknown): string {
  if (value === undefined || value === null) {
    return '—';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object' || item === null)) {
    return value.length === 0 ? '(none)' : value.join(', ');
  }
  return JSON.stringify(value);
}

/**
 * What an event changed, field by field, in words a reader can follow: a
 * creation lists what was set, a deletion what was there, an update only
 * the fields whose value differs.
 */
export function changesOf(event: Pick<AuditEvent, 'before' | 'after'>): FieldChange[] {
  const before = (event.before ?? {}) as Record<string, unknown>;
  const after = (event.after ?? {}) as Record<string, unknown>;
  if (typeof before !== 'object' || typeof after !== 'object') {
    return [];
  }
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((field) => !NOISE.has(field));
  return fields
    .map((field) => ({ field, before: show(before[field]), after: show(after[field]) }))
    .filter((change) => change.before !== change.after);
}

/** `exception.renewal_approved` → `Exception renewal approved`. */
export function describeAction(action: string): string {
  const words = action.replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
