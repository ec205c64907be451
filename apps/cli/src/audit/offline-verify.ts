import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  AUDIT_CHAIN_BREAK_TEXT,
  auditCheckpointSignatureValid,
  auditEventHash,
  GENESIS_HASH,
  type AuditEventContent,
  type SignedAuditCheckpoint,
} from '@app/domain';

/** What an export file proved, or where it stopped proving anything. */
export interface OfflineVerification {
  readonly valid: boolean;
  readonly events: number;
  /** Positions missing between lines: a filtered export (each event still proves itself). */
  readonly gaps: number;
  readonly lastPosition: number;
  readonly lastHash: string;
  /** The first event that breaks it, and why. */
  readonly brokenEventId: string | null;
  readonly brokenAtLine: number | null;
  readonly problem: string | null;
  /** Against the checkpoint, when one was given. */
  readonly checkpoint: string | null;
}

interface ExportLine extends AuditEventContent {
  position: number;
  prevHash: string;
  hash: string;
}

function parseLine(text: string): ExportLine | null {
  try {
    const value = JSON.parse(text) as ExportLine;
    return Number.isSafeInteger(value.position) && typeof value.hash === 'string' && typeof value.prevHash === 'string' && typeof value.id === 'string'
      ? value
      : null;
  } catch {
    return null;
  }
}

/**
 * Verifies an NDJSON export with nothing but the file (and a checkpoint kept
 * elsewhere): every event's hash from its content and the hash before it,
 * every link's predecessor where positions follow each other, the genesis
 * at position 1. Reads line by line: memory does not grow with the file.
 */
export async function verifyExportFile(
  file: string,
  checkpoint: SignedAuditCheckpoint | undefined,
  onProgress: (fraction: number) => void = () => undefined,
): Promise<OfflineVerification> {
  const size = statSync(file).size;
  let read = 0;
  let events = 0;
  let gaps = 0;
  let lineNumber = 0;
  let previous: { position: number; hash: string } = { position: 0, hash: GENESIS_HASH };
  let atCheckpoint: ExportLine | undefined;
  const broken = (line: ExportLine | null, problem: string): OfflineVerification => ({
    valid: false,
    events,
    gaps,
    lastPosition: previous.position,
    lastHash: previous.hash,
    brokenEventId: line?.id ?? null,
    brokenAtLine: lineNumber,
    problem,
    checkpoint: null,
  });
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const text of lines) {
    lineNumber += 1;
    read += Buffer.byteLength(text) + 1;
    if (lineNumber % 1000 === 0) {
      onProgress(Math.min(1, read / size));
    }
    if (text.trim() === '') {
      continue;
    }
    const line = parseLine(text);
    if (line === null) {
      return broken(null, 'not an export line (JSON with position, prevHash and hash)');
    }
    if (line.position <= previous.position) {
      return broken(line, AUDIT_CHAIN_BREAK_TEXT.link_mismatch);
    }
    if (line.position === previous.position + 1 && line.prevHash !== previous.hash) {
      return broken(line, AUDIT_CHAIN_BREAK_TEXT.link_mismatch);
    }
    if (line.position > previous.position + 1) {
      gaps += 1;
    }
    if (auditEventHash(line.prevHash, line) !== line.hash) {
      return broken(line, AUDIT_CHAIN_BREAK_TEXT.event_rewritten);
    }
    if (checkpoint !== undefined && line.position === checkpoint.count) {
      atCheckpoint = line;
    }
    previous = { position: line.position, hash: line.hash };
    events += 1;
  }
  onProgress(1);
  const result: OfflineVerification = {
    valid: true,
    events,
    gaps,
    lastPosition: previous.position,
    lastHash: previous.hash,
    brokenEventId: null,
    brokenAtLine: null,
    problem: null,
    checkpoint: null,
  };
  if (checkpoint === undefined) {
    return result;
  }
  if (checkpoint.count === 0) {
    return { ...result, checkpoint: 'the checkpoint saw an empty chain' };
  }
  if (atCheckpoint === undefined) {
    return previous.position < checkpoint.count
      ? { ...result, valid: false, problem: 'tail_truncated', checkpoint: `the file ends at position ${previous.position}, but the checkpoint of ${checkpoint.at} saw ${checkpoint.count} events: the tail was cut off (or an older backup exported)` }
      : { ...result, valid: false, problem: 'checkpoint_not_in_file', checkpoint: `position ${checkpoint.count} is not in the file (a filtered export): export everything to check against the checkpoint` };
  }
  if (atCheckpoint.hash !== checkpoint.lastHash || atCheckpoint.id !== checkpoint.lastEventId) {
    return {
      ...result,
      valid: false,
      problem: 'restored_older_backup',
      brokenEventId: atCheckpoint.id,
      checkpoint: `position ${checkpoint.count} holds another event than the checkpoint of ${checkpoint.at} saw: history was replaced (an older backup written on since, or a rewrite)`,
    };
  }
  return { ...result, checkpoint: `holds the checkpoint of ${checkpoint.at} at position ${checkpoint.count}` };
}

/** The last checkpoint of a file of them (one JSON line each, as AUDIT_CHECKPOINT_FILE keeps them). */
export function lastCheckpoint(text: string): SignedAuditCheckpoint | undefined {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) {
    return undefined;
  }
  const value = JSON.parse(last) as SignedAuditCheckpoint;
  if (typeof value.signature !== 'string' || !Number.isSafeInteger(value.count) || typeof value.lastHash !== 'string') {
    throw new Error('the checkpoint file does not end with a checkpoint');
  }
  return value;
}

export function checkpointSignedBy(checkpoint: SignedAuditCheckpoint, publicKey: string | undefined): boolean {
  return auditCheckpointSignatureValid(checkpoint, publicKey ?? checkpoint.publicKey);
}
