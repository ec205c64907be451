/**
 * Reading hand-kept Postfix maps: the logical lines every Postfix table is
 * made of, and which of an entry's results grant anything.
 */

/** One logical line: its first and last physical line numbers (1-based) and its text. */
export interface LogicalLine {
  readonly line: number;
  readonly lastLine: number;
  readonly text: string;
}

/**
 * Splits a map into logical lines as Postfix reads it (readlline(3), as
 * cidr_table(5) and access(5) describe): empty and whitespace-only lines and
 * lines whose first non-whitespace character is `#` are ignored; a line that
 * starts with whitespace continues the logical line before it. `#` later in a
 * line is not a comment. Trailing whitespace (a CR of CRLF files too) is
 * trimmed. A continuation with nothing before it is returned as its own
 * logical line with `orphan` set (Postfix warns and skips it).
 */
export function logicalLines(text: string): Array<LogicalLine & { orphan?: true }> {
  const lines: Array<{ line: number; lastLine: number; parts: string[]; orphan?: true }> = [];
  const physical = text.replace(/^\uFEFF/, '').split('\n');
  let current: (typeof lines)[number] | undefined;
  physical.forEach((raw, index) => {
    const content = raw.trimEnd();
    const trimmed = content.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) {
      return;
    }
    const number = index + 1;
    if (content !== trimmed) {
      if (current) {
        current.parts.push(trimmed);
        current.lastLine = number;
      } else {
        lines.push({ line: number, lastLine: number, parts: [trimmed], orphan: true });
      }
      return;
    }
    current = { line: number, lastLine: number, parts: [trimmed] };
    lines.push(current);
  });
  return lines.map(({ line, lastLine, parts, orphan }) => ({
    line,
    lastLine,
    text: parts.join(' '),
    ...(orphan ? { orphan } : {}),
  }));
}

/**
 * What the importer makes of one logical line: an entry to import (`key`:
 * the canonical prefix or the normalized HELO name), or a line it skips or
 * refuses, with the reason.
 */
export type MapEntry =
  | (LogicalLine & { kind: 'accept'; key: string; result: string; notes: string[] })
  | (LogicalLine & { kind: 'skipped' | 'refused'; reason: string });

/** A logical line split into its pattern (the first word) and its result (the rest). */
export function splitEntry(text: string): { pattern: string; result: string } {
  const match = /^(\S+)\s*(.*)$/.exec(text);
  return { pattern: match?.[1] ?? '', result: match?.[2]?.trim() ?? '' };
}

/**
 * Whether a table result lets the client through (access(5)): `OK`,
 * the restriction `permit`, or an all-numerical result (which Postfix treats
 * as OK). Postfix acts on the first word of a result, so `OK legacy` is OK.
 */
export function isAcceptResult(result: string): boolean {
  const first = result.split(/[\s,]+/)[0] ?? '';
  return /^(ok|permit)$/i.test(first) || /^\d+$/.test(result);
}

/** Why a result is not imported, in the words of access(5). */
export function refusedResultReason(result: string): string {
  if (result === '') {
    return 'the line has no result (a Postfix table needs a pattern and a result)';
  }
  const first = result.split(/[\s,]+/)[0] ?? '';
  if (/^[45]\d\d$/.test(first)) {
    return `result "${first} …" is a ${first[0]}xx reply, which rejects the client; only OK (or PERMIT) lines are imported`;
  }
  if (/^dunno$/i.test(first)) {
    return 'result DUNNO grants nothing (the lookup stops and the next restriction decides); only OK (or PERMIT) lines are imported';
  }
  return `result ${first.toUpperCase()} is not an accept action; only OK (or PERMIT, or an all-numerical result) lines are imported`;
}
