import type { ExceptionScope, ExceptionStatus } from '@app/exceptions';

/** What an import is asked to do, and what it reports. */

export const MAP_FORMATS = ['postfix-cidr', 'postfix-access'] as const;
export type MapFormat = (typeof MAP_FORMATS)[number];

export interface ImportRequest {
  organizationId: string;
  format: MapFormat;
  /** The map's name as reports and reasons show it (the file's base name). */
  source: string;
  text: string;
  dryRun: boolean;
  reason: string;
  ticketRef?: string;
  /** Turns grants whose ownership is unproven into overrides (waiting for a second admin). */
  justification?: string;
  expiresInMs?: number;
  /** The admin API key the import acts as (found by name, created when missing). */
  keyName: string;
  /** Canonical prefixes for the mail servers of an access map, which names no address. */
  addresses: string[];
}

export interface ImportStart {
  organization: { id: string; name: string };
  format: MapFormat;
  source: string;
  dryRun: boolean;
  /** The key the import acts as; `id` null while it is still to be created. */
  actor: { id: string | null; name: string };
  requestId: string;
  lines: number;
  entries: number;
}

export type LineOutcome = 'imported' | 'skipped' | 'refused';

export interface LineReport {
  line: number;
  lastLine: number;
  text: string;
  outcome: LineOutcome;
  reason?: string;
  notes: string[];
  /** `id` null in a dry run for a server that would be created. */
  mailServer?: { id: string | null; heloHostname: string; addresses: string[]; created: boolean };
  /** `id` null in a dry run; `status` then is the one the grant would get. */
  exception?: { id: string | null; scope: ExceptionScope; status: ExceptionStatus; override: boolean; approvalReasons: string[] };
}

export interface ImportSummary {
  lines: number;
  entries: number;
  imported: number;
  active: number;
  pendingApproval: number;
  skipped: number;
  refused: number;
  serversCreated: number;
  serversReused: number;
  /** Exceptions (ids) waiting for a second person's approval. */
  pending: string[];
  /** The key the import acted as (null in a dry run when it does not exist yet). */
  actor: { id: string | null; name: string; created: boolean };
}

export interface ImportObserver {
  start(info: ImportStart): void;
  line(report: LineReport): void;
}
