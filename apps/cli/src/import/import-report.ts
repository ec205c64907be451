import type { ImportStart, ImportSummary, LineReport } from './import.types.js';

/** Pending exceptions listed by id in the summary; the rest are named by a query. */
const LISTED_PENDING = 20;

/** The human-readable report: one header, one line per map line (plus notes), a summary. */

export function startText(start: ImportStart): string[] {
  return [
    `import ${start.format} map ${start.source} into organization "${start.organization.name}" (${start.organization.id})` +
      (start.dryRun ? ' — dry run: nothing is written' : ''),
    `acting as admin key "${start.actor.name}" ${start.actor.id ? `(${start.actor.id})` : start.dryRun ? '(would be created)' : '(created at the first write)'}` +
      (start.dryRun ? '' : `; audit events carry request id ${start.requestId}`),
    `${start.lines} map lines, ${start.entries} to import`,
  ];
}

export function lineText(report: LineReport, dryRun: boolean): string[] {
  const where = report.lastLine > report.line ? `lines ${report.line}-${report.lastLine}` : `line ${report.line}`;
  let text: string;
  if (report.outcome !== 'imported') {
    text = `${where}: ${report.outcome} "${report.text}" — ${report.reason}`;
  } else {
    const server = report.mailServer!;
    const exception = report.exception!;
    const serverText = server.created
      ? dryRun
        ? `would create mail server ${server.heloHostname} [${server.addresses.join(', ')}]`
        : `created mail server ${server.heloHostname} [${server.addresses.join(', ')}] (${server.id})`
      : `reuses mail server ${server.heloHostname} (${server.id})`;
    const waits = exception.approvalReasons.length > 0 ? ` (needs approval: ${exception.approvalReasons.join(', ')})` : '';
    const grantText = dryRun
      ? `would grant ${exception.scope} exception, ${exception.status}${waits}`
      : `granted ${exception.scope} exception ${exception.id}, ${exception.status}${waits}`;
    text = `${where}: ${dryRun ? 'would import' : 'imported'} "${report.text}" — ${serverText}; ${grantText}`;
  }
  return [text, ...report.notes.map((note) => `    note: ${note}`)];
}

export function summaryText(summary: ImportSummary, dryRun: boolean): string[] {
  const lines = [
    `summary: ${summary.lines} map lines, ${summary.entries} to import: ` +
      `${summary.imported} ${dryRun ? 'would be imported' : 'imported'} (${summary.active} active, ${summary.pendingApproval} pending approval), ` +
      `${summary.skipped} skipped, ${summary.refused} refused`,
    `mail servers: ${summary.serversCreated} ${dryRun ? 'to create' : 'created'}, ${summary.serversReused} reused`,
  ];
  if (summary.actor.created) {
    lines.push(
      `created admin key "${summary.actor.name}" (${summary.actor.id}) as the import's identity; its secret was not kept (nobody signs in with it)`,
    );
  }
  if (summary.pending.length > 0) {
    lines.push(
      `${summary.pending.length} exception(s) wait for approval by an admin other than key "${summary.actor.name}" (POST /v1/exceptions/<id>/approve):`,
      ...summary.pending.slice(0, LISTED_PENDING).map((id) => `    ${id}`),
    );
    if (summary.pending.length > LISTED_PENDING) {
      lines.push(
        `    … and ${summary.pending.length - LISTED_PENDING} more: GET /v1/exceptions?status=pending_approval&requestedBy=${summary.actor.id}`,
      );
    }
  }
  if (dryRun) {
    lines.push('dry run: nothing was written');
  }
  return lines;
}
