import type pg from 'pg'
import type { EnvironmentConfig } from '../config/load.js'
import { prismaHistoryTable } from '../handlers/prisma/history-table.js'
import { sqlHistoryTable } from '../handlers/sql/history-table.js'
import { sha256Hex } from '../lib/checksum.js'
import { connectTarget } from '../lib/target-connection.js'

/** A target's schema as named objects and their definitions, and one hash of them all. */
export interface SchemaFingerprint {
  fingerprint: string
  /** `table public."User"` → its definition; what a drift report names. */
  objects: Record<string, string>
}

// From the catalog, not pg_dump's text: stable across pg_dump versions and free of OIDs and
// ordering noise. Every object of every user schema, each with what defines it.
const CATALOG = `
WITH ns AS (
  SELECT oid, nspname FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'
)
SELECT 'table ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) AS key, c.relkind::text AS def
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
UNION ALL
SELECT 'column ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname),
       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'index ' || quote_ident(ns.nspname) || '.' || quote_ident(ic.relname), pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN ns ON ns.oid = ic.relnamespace
UNION ALL
SELECT 'constraint ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(con.conname), pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT 'view ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname), pg_get_viewdef(c.oid)
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT 'function ' || quote_ident(ns.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')', md5(pg_get_functiondef(p.oid))
  FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE p.prokind IN ('f', 'p')
UNION ALL
SELECT 'type ' || quote_ident(ns.nspname) || '.' || quote_ident(t.typname),
       COALESCE((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), t.typtype::text)
  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype IN ('e', 'd')
UNION ALL
SELECT 'trigger ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(tg.tgname), pg_get_triggerdef(tg.oid)
  FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN ns ON ns.oid = c.relnamespace WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'extension ' || quote_ident(e.extname), e.extversion FROM pg_extension e WHERE e.extname <> 'plpgsql'`

/**
 * The schema fingerprint of a target (SPEC §15): every table, column, index, constraint, view,
 * function, type, trigger and extension of its user schemas from the catalog, plus the migration
 * history rows (name and checksum) of the environment's tool, in one read-only transaction.
 */
export async function takeSchemaFingerprint (databaseUrl: string, environment: Pick<EnvironmentConfig, 'migration_tool' | 'sql'>): Promise<SchemaFingerprint> {
  const client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer drift check' })
  try {
    await client.query('BEGIN TRANSACTION READ ONLY')
    const { rows } = await client.query<{ key: string, def: string }>(CATALOG)
    const objects: Record<string, string> = {}
    for (const row of rows) objects[row.key] = row.def
    for (const entry of await historyOf(client, environment)) objects[`migration ${entry.name}`] = entry.checksum
    await client.query('COMMIT')
    const canonical = Object.keys(objects).sort().map((key) => `${key}\t${objects[key] ?? ''}`).join('\n')
    return { fingerprint: `sha256:${sha256Hex(canonical)}`, objects }
  } finally {
    await client.end().catch(() => {})
  }
}

async function historyOf (client: pg.Client, environment: Pick<EnvironmentConfig, 'migration_tool' | 'sql'>): Promise<Array<{ name: string, checksum: string }>> {
  // The command handler's tools keep their own tables; their rows show up as schema objects only.
  if (environment.migration_tool === 'command') return []
  const table = environment.migration_tool === 'sql' ? sqlHistoryTable(environment.sql?.history_table ?? 'migration_deployer_history') : prismaHistoryTable
  return (await table.read(client)) ?? []
}

/** What changed between two fingerprints, by object name. */
export function diffFingerprints (before: Record<string, string>, after: Record<string, string>): Array<{ object: string, change: 'added' | 'removed' | 'changed' }> {
  const changes: Array<{ object: string, change: 'added' | 'removed' | 'changed' }> = []
  for (const key of Object.keys(after).sort()) {
    if (!(key in before)) changes.push({ object: key, change: 'added' })
    else if (before[key] !== after[key]) changes.push({ object: key, change: 'changed' })
  }
  for (const key of Object.keys(before).sort()) if (!(key in after)) changes.push({ object: key, change: 'removed' })
  return changes
}
