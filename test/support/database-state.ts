import pg from 'pg';

/** What a refused request must leave as it was: every table's row count and the audit trail's last event. */
export interface DatabaseState {
  rows: Record<string, number>;
  audit: { count: number; lastEventId: string | null };
}

/**
 * Filled in the background, right after an event commits (the chain's links
 * and their queue): what an earlier, accepted request wrote may still be
 * linking while a later one is checked.
 */
const LINKED_AFTER_COMMIT = new Set(['audit_chain', 'audit_unchained']);

/**
 * Reads the row count of every table in the public schema (pg-boss keeps its
 * queue in a schema of its own; the chain's links come after commit) and the audit trail's length and last event,
 * in one statement so that the figures belong to one moment.
 */
export class DatabaseStateReader {
  private constructor(
    private readonly client: pg.Client,
    private readonly statement: string,
  ) {}

  static async open(databaseUrl: string): Promise<DatabaseStateReader> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const counts = tables.rows.map(({ table_name: name }) => `(SELECT count(*) FROM public.${pg.escapeIdentifier(name)})::int AS ${pg.escapeIdentifier(name)}`);
    const statement = `SELECT json_build_object(${tables.rows.map(({ table_name: name }) => `${pg.escapeLiteral(name)}, ${pg.escapeIdentifier(name)}`).join(', ')}) AS rows,
        (SELECT id::text FROM public.audit_events ORDER BY seq DESC LIMIT 1) AS last_event_id
      FROM (SELECT ${counts.join(', ')}) AS counts`;
    return new DatabaseStateReader(client, statement);
  }

  async read(): Promise<DatabaseState> {
    const result = await this.client.query<{ rows: Record<string, number>; last_event_id: string | null }>(this.statement);
    const row = result.rows[0]!;
    const rows = Object.fromEntries(Object.entries(row.rows).filter(([table]) => !LINKED_AFTER_COMMIT.has(table)));
    return { rows, audit: { count: row.rows.audit_events ?? 0, lastEventId: row.last_event_id } };
  }

  close(): Promise<void> {
    return this.client.end();
  }
}
