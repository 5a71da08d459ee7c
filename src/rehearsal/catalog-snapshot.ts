import type pg from 'pg'
import type { SchemaChange } from '../domain/index.js'

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`

/** Each table's storage (relfilenode) by oid, with its name: a changed relfilenode is a rewrite. */
export async function relationFiles (client: pg.Client): Promise<Map<number, { name: string, file: string }>> {
  const { rows } = await client.query<{ oid: number, name: string, file: string }>(
    `SELECT c.oid::int AS oid, CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname) ELSE format('%I.%I', n.nspname, c.relname) END AS name,
            pg_relation_filenode(c.oid)::text AS file
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND ${USER_SCHEMAS}`
  )
  return new Map(rows.map((row) => [row.oid, { name: row.name, file: row.file }]))
}

/** The tables rewritten between two snapshots: same oid, new storage. */
export function rewrittenBetween (before: Map<number, { name: string, file: string }>, after: Map<number, { name: string, file: string }>): string[] {
  return [...after].filter(([oid, now]) => before.has(oid) && before.get(oid)?.file !== now.file).map(([, now]) => now.name).sort()
}

type Objects = Map<string, { object: SchemaChange['object'], name: string, definition: string }>

/**
 * Every user object with a definition to compare: the structured side of the schema diff.
 * Keyed by kind and name; `definition` changes when the object is altered.
 */
export async function schemaObjects (client: pg.Client): Promise<Objects> {
  const { rows } = await client.query<{ object: SchemaChange['object'], name: string, definition: string }>(`
    SELECT 'schema' AS object, quote_ident(n.nspname) AS name, '' AS definition FROM pg_namespace n WHERE ${USER_SCHEMAS}
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' ELSE 'table' END,
           format('%I.%I', n.nspname, c.relname),
           CASE WHEN c.relkind IN ('i', 'I') THEN pg_get_indexdef(c.oid) WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) ELSE c.relkind::text END
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I') AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'column', format('%I.%I.%I', n.nspname, c.relname, a.attname),
           format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'constraint', format('%I.%I.%I', n.nspname, c.relname, k.conname), pg_get_constraintdef(k.oid)
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS}
    UNION ALL
    SELECT 'type', format('%I.%I', n.nspname, t.typname),
           t.typtype::text || coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype IN ('e', 'd', 'c') AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'function', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), md5(pg_get_functiondef(p.oid))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prokind IN ('f', 'p') AND ${USER_SCHEMAS} AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = p.oid AND dep.deptype = 'e')
    UNION ALL
    SELECT 'trigger', format('%I.%I.%I', n.nspname, c.relname, tg.tgname), pg_get_triggerdef(tg.oid)
      FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT tg.tgisinternal AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'extension', quote_ident(x.extname), x.extversion FROM pg_extension x WHERE x.extname <> 'plpgsql'`)
  return new Map(rows.map((row) => [`${row.object} ${row.name}`, row]))
}

/** Objects added, dropped or altered between two snapshots, in a stable order. */
export function schemaChanges (before: Objects, after: Objects): SchemaChange[] {
  const changes: SchemaChange[] = []
  for (const [key, now] of after) {
    const was = before.get(key)
    if (was === undefined) changes.push({ object: now.object, name: now.name, change: 'added' })
    else if (was.definition !== now.definition) changes.push({ object: now.object, name: now.name, change: 'altered' })
  }
  for (const [key, was] of before) if (!after.has(key)) changes.push({ object: was.object, name: was.name, change: 'dropped' })
  return changes.sort((a, b) => a.name.localeCompare(b.name) || a.object.localeCompare(b.object))
}
