/** An RFC 9457 answer from the API, as the console shows it. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
}

/**
 * Splits a problem into messages for the form's own fields (shown next to
 * each field) and what is left for the form as a whole. A field the form
 * does not have (`addresses[2]` on a form with `addresses`) goes to its
 * nearest parent the form has, else to the form.
 */
export function problemsByField(problem: Problem | undefined, fields: readonly string[]): { fields: Record<string, string>; general: string[] } {
  const result: { fields: Record<string, string>; general: string[] } = { fields: {}, general: [] };
  if (!problem) {
    return result;
  }
  for (const error of problem.errors ?? []) {
    const field = fieldFor(error.field, fields);
    if (field !== undefined && result.fields[field] === undefined) {
      result.fields[field] = error.message;
    } else {
      result.general.push(`${error.field} ${error.message}`);
    }
  }
  if (!problem.errors?.length) {
    result.general.push(problem.detail ?? problem.title);
  }
  return result;
}

function fieldFor(name: string, fields: readonly string[]): string | undefined {
  let candidate = name;
  for (;;) {
    if (fields.includes(candidate)) {
      return candidate;
    }
    const cut = Math.max(candidate.lastIndexOf('.'), candidate.lastIndexOf('['));
    if (cut <= 0) {
      return undefined;
    }
    candidate = candidate.slice(0, cut);
  }
}
