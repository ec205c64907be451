import { readFileSync } from 'node:fs';

/**
 * The HELO table (helo-table.json beside this file): HELO forms and the reply
 * the real Postfix gives each, with the DNS zone they are asked against. One
 * file read by verify.sh (through helo-dns.ts and smtp-probe.mjs) and by the
 * diagnostics' specs, so the prediction and the real Postfix cannot drift.
 */
export interface HeloTable {
  about: string;
  postfix: string;
  restrictions: string;
  zone: Record<string, HeloZoneEntry>;
  rows: HeloTableRow[];
}

export interface HeloZoneEntry {
  A?: string[];
  AAAA?: string[];
  MX?: Array<{ priority: number; exchange: string }>;
  CNAME?: string;
  TXT?: string[];
  /** Every question about the name answers SERVFAIL. */
  servfail?: boolean;
}

export interface HeloTableRow {
  /** Exactly what the client sends after `EHLO `. */
  helo: string;
  /** What the row is about, in words. */
  form: string;
  /** Postfix's reply line, or null: accepted (the conversation reaches `RCPT` 250). */
  reply: string | null;
}

export function loadHeloTable(): HeloTable {
  return JSON.parse(readFileSync(new URL('./helo-table.json', import.meta.url), 'utf8')) as HeloTable;
}

/** What a DNS server must be able to serve the zone with (the test DNS server does). */
export interface ZoneTarget {
  a(name: string, addresses: string[]): void;
  aaaa(name: string, addresses: string[]): void;
  mx(name: string, records: Array<{ exchange: string; priority: number }>): void;
  cname(name: string, target: string): void;
  txt(name: string, ...records: string[][]): void;
  servfail(name: string): void;
}

export function serveHeloZone(server: ZoneTarget, table: HeloTable): void {
  for (const [name, entry] of Object.entries(table.zone)) {
    if (entry.A) server.a(name, entry.A);
    if (entry.AAAA) server.aaaa(name, entry.AAAA);
    if (entry.MX) server.mx(name, entry.MX);
    if (entry.CNAME) server.cname(name, entry.CNAME);
    if (entry.TXT) server.txt(name, ...entry.TXT.map((text) => [text]));
    if (entry.servfail) server.servfail(name);
  }
}
