import { TargetUrlError } from '../errors/target-url-error.js'

/**
 * A target database URL's `schema` parameter, read as Prisma reads it (prisma-engines, quaint's
 * PostgresNativeUrl and the schema engine's setup_connection):
 *
 * - the query is form-decoded (`%20` and `+` are spaces), the key is `schema` exactly, and the
 *   last occurrence wins;
 * - without it the schema is `public` and the search path is left as the server sets it;
 * - with it every connection's search path is that one schema, written between double quotes
 *   (case, spaces and hyphens kept), and Migrate creates the schema when it is missing;
 * - `_prisma_migrations` and every unqualified name of the migrations then live in it.
 *
 * The parameter is Prisma's, not libpq's: `connectionUrl` is the URL without it, for node-postgres
 * and the PostgreSQL tools (libpq refuses unknown URL parameters). Every other byte of the URL is
 * kept as written. Fleets of schema-per-tenant targets (SPEC §14) resolve each URL here too.
 */
export interface SchemaUrl {
  /** The URL without its `schema` parameter(s). */
  connectionUrl: string
  /** The schema Prisma keeps its history and unqualified names in: the parameter, default `public`. */
  schema: string
  /** Whether the URL names the schema: only then is the search path set and the schema created. */
  named: boolean
}

/** Prisma's schema when the URL names none (quaint's DEFAULT_POSTGRES_SCHEMA). */
export const DEFAULT_SCHEMA = 'public'

// PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes.
const MAX_IDENTIFIER_BYTES = 63

/** Splits the `schema` parameter off a database URL (see SchemaUrl). Throws `TargetUrlError` for a schema Prisma could not use. */
export function parseSchemaUrl (databaseUrl: string): SchemaUrl {
  const queryStart = databaseUrl.indexOf('?')
  if (queryStart === -1) return { connectionUrl: databaseUrl, schema: DEFAULT_SCHEMA, named: false }
  const fragmentStart = databaseUrl.indexOf('#', queryStart)
  const queryEnd = fragmentStart === -1 ? databaseUrl.length : fragmentStart
  const pairs = databaseUrl.slice(queryStart + 1, queryEnd).split('&')
  const kept: string[] = []
  let schema: string | undefined
  for (const pair of pairs) {
    // URLSearchParams decodes a pair exactly as the url crate's query_pairs does.
    const decoded = [...new URLSearchParams(pair)][0]
    if (decoded?.[0] === 'schema') schema = decoded[1]
    else kept.push(pair)
  }
  if (schema === undefined) return { connectionUrl: databaseUrl, schema: DEFAULT_SCHEMA, named: false }
  assertUsableSchema(schema)
  const query = kept.join('&')
  const connectionUrl = databaseUrl.slice(0, queryStart) + (query === '' ? '' : `?${query}`) + databaseUrl.slice(queryEnd)
  return { connectionUrl, schema, named: true }
}

/**
 * Refuses the names Prisma itself cannot work with, before anything touches the database: Prisma
 * writes the name between double quotes without escaping (`SET search_path = "<name>"`,
 * `CREATE SCHEMA "<name>"`), so an empty name or one holding `"` breaks its SQL; and a name longer
 * than PostgreSQL keeps is created truncated, which Prisma's next existence check never finds.
 */
function assertUsableSchema (schema: string): void {
  const fix = 'fix the schema parameter of the URL in the variable the environment\'s database_url_env names'
  if (schema === '') throw new TargetUrlError(`the database URL has an empty schema parameter (schema=): ${fix}, or remove it to use public`)
  const shown = JSON.stringify(schema.length > 80 ? `${schema.slice(0, 80)}…` : schema)
  if (schema.includes('"') || schema.includes('\u0000')) {
    throw new TargetUrlError(`the database URL's schema ${shown} holds a double quote or a NUL character, which Prisma cannot quote: ${fix}`)
  }
  if (Buffer.byteLength(schema) > MAX_IDENTIFIER_BYTES) {
    throw new TargetUrlError(`the database URL's schema ${shown} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes for a name: ${fix}`)
  }
}

/** A PostgreSQL identifier in double quotes, inner quotes doubled: `billing` → `"billing"`. */
export function quoteIdentifier (name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** The search path a connection must use (`"billing"`), or null to leave the server's. */
export function searchPathOf (target: SchemaUrl): string | null {
  return target.named ? quoteIdentifier(target.schema) : null
}

/**
 * What a backup, a restore and a dev reset cover: the named schema, or null for the whole
 * database. `public` (named or not) keeps the whole database, as before the parameter was read:
 * many Prisma URLs say `?schema=public`, and for them the database is the application's. Any
 * other schema is one tenant among others, and only it is dumped, restored or reset.
 */
export function backupScopeOf (target: SchemaUrl): string | null {
  return target.named && target.schema !== DEFAULT_SCHEMA ? target.schema : null
}
