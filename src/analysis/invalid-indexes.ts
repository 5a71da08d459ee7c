import type pg from 'pg'

/** An index PostgreSQL keeps but does not use (`pg_index.indisvalid = false`). */
export interface InvalidIndex {
  schema: string
  table: string
  index: string
}

/**
 * Lists the database's invalid indexes, ordered by schema, table and index. An index is left
 * invalid when `CREATE INDEX CONCURRENTLY` or `REINDEX … CONCURRENTLY` fails (a duplicate for a
 * unique index, a cancel, a timeout): it still slows every write and blocks re-running the
 * migration under the same name, so it must be dropped (`DROP INDEX CONCURRENTLY`) first.
 * A concurrent build still in progress is invalid too until it finishes.
 * `client` is any connected `pg` client (a `pg.Client` or a pool's client).
 */
export async function findInvalidIndexes (client: pg.ClientBase): Promise<InvalidIndex[]> {
  const { rows } = await client.query<InvalidIndex>(`
    SELECT n.nspname AS schema, t.relname AS "table", i.relname AS index
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = i.relnamespace
     WHERE NOT x.indisvalid
     ORDER BY 1, 2, 3`)
  return rows
}
