import type pg from 'pg'
import { quoteIdent, relationSql, type Count } from './count-spec.js'

/** The outcome of one count: a number, or why there is none (never the database's message: it may quote a row). */
export type Counted = { rows: number } | { timedOut: true } | { skipped: string }

const DOLLAR_TAG = '$md_preflight$'

/**
 * Runs one count on the target in its own READ ONLY transaction with its own statement_timeout
 * (and lock_timeout, so waiting behind a lock is bounded too). Only the count leaves the database.
 */
export async function countRows (client: pg.Client, table: { sql: string, shown: string }, count: Count, timeoutMs: number): Promise<Counted> {
  const bound = Math.max(1, Math.trunc(timeoutMs))
  await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${bound}; SET LOCAL lock_timeout = ${bound}`)
  try {
    const rows = await countInTransaction(client, table.sql, count)
    await client.query('COMMIT')
    return { rows }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    const code = (error as { code?: string }).code ?? ''
    if (code === '57014' || code === '55P03') return { timedOut: true }
    if (code === '42P01' || code === '3F000') return { skipped: `${table.shown} is not on the target (created or renamed earlier in this plan?): the rehearsal checks it` }
    if (code === '42703') return { skipped: `a column the statement names is not on ${table.shown} (added or renamed earlier in this plan?): the rehearsal checks it` }
    return { skipped: `the count query failed (SQLSTATE ${code === '' ? 'unknown' : code}): the rehearsal checks it` }
  }
}

async function single (client: pg.Client, sql: string, values: unknown[] = []): Promise<number> {
  const result = await client.query<{ n: string | null }>(sql, values)
  return Number(result.rows[0]?.n ?? 0)
}

async function countInTransaction (client: pg.Client, table: string, count: Count): Promise<number> {
  switch (count.kind) {
    case 'all_rows':
      return await single(client, `SELECT count(*) AS n FROM ${table}`)
    case 'nulls':
      return await single(client, `SELECT count(*) AS n FROM ${table} WHERE ${count.columns.map((c) => `${quoteIdent(c)} IS NULL`).join(' OR ')}`)
    case 'violations':
      // A CHECK passes when its expression is NULL: only FALSE violates it.
      return await single(client, `SELECT count(*) AS n FROM ${table} WHERE (${count.expression}) IS FALSE`)
    case 'duplicates': {
      const filters = [
        ...(count.where === undefined ? [] : [`(${count.where})`]),
        ...(count.nullsDistinct ? count.keys.map((k) => `(${k}) IS NOT NULL`) : [])
      ]
      const where = filters.length === 0 ? '' : ` WHERE ${filters.join(' AND ')}`
      return await single(client, `SELECT coalesce(sum(c), 0) AS n FROM (SELECT count(*) AS c FROM ${table}${where} GROUP BY ${count.keys.join(', ')} HAVING count(*) > 1) AS d`)
    }
    case 'orphans': {
      const present = count.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ')
      if (count.parentEmpty) return await single(client, `SELECT count(*) AS n FROM ${table} AS c WHERE ${present}`)
      const parent = relationSql(count.parent)
      const parentColumns = count.parentColumns ?? await primaryKeyOf(client, parent)
      if (parentColumns.length !== count.columns.length) throw Object.assign(new Error('key mismatch'), { code: 'MDKEY' })
      const match = count.columns.map((c, i) => `p.${quoteIdent(parentColumns[i] ?? '')} = c.${quoteIdent(c)}`).join(' AND ')
      return await single(client, `SELECT count(*) AS n FROM ${table} AS c WHERE ${present} AND NOT EXISTS (SELECT 1 FROM ${parent} AS p WHERE ${match})`)
    }
    case 'casts':
      return await failingCasts(client, table, count.column, count.value)
  }
}

async function primaryKeyOf (client: pg.Client, parent: string): Promise<string[]> {
  const result = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [parent]
  )
  return result.rows.map((row) => row.attname)
}

/**
 * Rows whose value does not convert. One set-based pass first: when every value converts, that is
 * the answer. Only when one does not (a data exception) are rows tried one by one, each in its own
 * subtransaction, inside a DO block (allowed in a read-only transaction) that hands back the count.
 */
async function failingCasts (client: pg.Client, table: string, column: string, value: string): Promise<number> {
  await client.query('SAVEPOINT md_preflight_cast')
  try {
    await client.query(`SELECT count((${value})) AS n FROM ${table}`)
    await client.query('RELEASE SAVEPOINT md_preflight_cast')
    return 0
  } catch (error) {
    if (!((error as { code?: string }).code ?? '').startsWith('22')) throw error
    await client.query('ROLLBACK TO SAVEPOINT md_preflight_cast')
  }
  if (value.includes(DOLLAR_TAG)) throw Object.assign(new Error('unsupported expression'), { code: 'MDTAG' })
  await client.query(`DO ${DOLLAR_TAG}
DECLARE r record; n bigint := 0;
BEGIN
  FOR r IN SELECT ctid AS row_id FROM ${table} WHERE ${quoteIdent(column)} IS NOT NULL LOOP
    BEGIN
      PERFORM (${value}) FROM ${table} WHERE ctid = r.row_id;
    EXCEPTION WHEN data_exception THEN n := n + 1;
    END;
  END LOOP;
  PERFORM set_config('migration_deployer.preflight_rows', n::text, true);
END ${DOLLAR_TAG}`)
  return await single(client, 'SELECT current_setting(\'migration_deployer.preflight_rows\') AS n')
}
