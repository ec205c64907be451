import type { EntryState } from './allowlist-index.js';
import type { AllowlistEntry, ExceptionScope } from './render.js';

/** An entry as the change log and the NOTIFY payload hold it (the exception id is beside it). */
export interface EntryJson {
  organizationId: string;
  scope: ExceptionScope;
  heloHostname: string;
  addresses: string[];
  startsAt: string;
  expiresAt: string;
}

/** One version's change: its number, when it began, and (when it was small enough to travel) what it changed. */
export interface ChangeNotice {
  version: bigint;
  changedAt: Date;
  states: EntryState[] | undefined;
}

export function entryFromJson(exceptionId: string, json: EntryJson | null): AllowlistEntry | null {
  if (json === null) {
    return null;
  }
  return {
    exceptionId,
    organizationId: json.organizationId,
    scope: json.scope,
    heloHostname: json.heloHostname,
    addresses: json.addresses,
    startsAt: new Date(json.startsAt),
    expiresAt: new Date(json.expiresAt),
  };
}

export function encodeChangeNotice(version: bigint, changedAt: Date, states: [string, EntryJson | null][] | undefined): string {
  return JSON.stringify({ v: version.toString(), t: changedAt.toISOString(), ...(states ? { c: states } : {}) });
}

/** Reads a NOTIFY payload; undefined for anything that is not one (an older process's bare version is read as such). */
export function decodeChangeNotice(payload: string): ChangeNotice | undefined {
  try {
    if (/^\d+$/.test(payload)) {
      return undefined;
    }
    const parsed = JSON.parse(payload) as { v: string; t: string; c?: [string, EntryJson | null][] };
    if (typeof parsed.v !== 'string' || !/^\d+$/.test(parsed.v) || typeof parsed.t !== 'string') {
      return undefined;
    }
    const changedAt = new Date(parsed.t);
    if (Number.isNaN(changedAt.getTime())) {
      return undefined;
    }
    const states = Array.isArray(parsed.c)
      ? parsed.c.map(([exceptionId, json]) => ({ exceptionId, entry: entryFromJson(exceptionId, json) }))
      : undefined;
    return { version: BigInt(parsed.v), changedAt, states };
  } catch {
    return undefined;
  }
}
