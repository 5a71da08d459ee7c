import type pg from 'pg'
import { quoteIdentifier, type SchemaUrl } from './schema-url.js'

/**
 * Creates the schema a URL names when it is missing, as Prisma's schema engine does when it
 * connects (setup_connection): look first, create only when absent, so a role without CREATE on
 * the database still works on a schema that exists. `IF NOT EXISTS` covers a Prisma CLI creating
 * it at the same moment. Nothing happens for a URL without the parameter. Returns whether it
 * created the schema.
 */
export async function ensureNamedSchema (client: pg.Client, target: SchemaUrl): Promise<boolean> {
  if (!target.named) return false
  const { rows } = await client.query<{ exists: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS "exists"', [target.schema])
  if (rows[0]?.exists === true) return false
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(target.schema)}`)
  return true
}
