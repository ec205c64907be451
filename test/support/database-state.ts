import pg from 'pg';

/** What a refused request must leave as it was: every table's row count and the audit chain's head. */
export interface DatabaseState {
  rows: Record<string, number>;
  audit: { count: number; lastHash: string | null };
}

/**
 * Reads the row count of every table in the public schema (pg-boss keeps its
 * queue in a schema of its own) and the audit chain's length and last hash,
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
        (SELECT hash FROM public.audit_events ORDER BY seq DESC LIMIT 1) AS last_hash
      FROM (SELECT ${counts.join(', ')}) AS counts`;
    return new DatabaseStateReader(client, statement);
  }

  async read(): Promise<DatabaseState> {
    const result = await this.client.query<{ rows: Record<string, number>; last_hash: string | null }>(this.statement);
    const row = result.rows[0]!;
    return { rows: row.rows, audit: { count: row.rows.audit_events ?? 0, lastHash: row.last_hash } };
  }

  close(): Promise<void> {
    return this.client.end();
  }
}
