import { connectTarget } from '../lib/target-connection.js'
import { maskSecrets } from '../lib/mask-secrets.js'
import { backupScopeOf, parseSchemaUrl, quoteIdentifier } from '../lib/schema-url.js'
import { RESTORE_PRELUDE } from './restore-script.js'
import { schemaRestorePrelude } from './schema-restore-script.js'

/**
 * Empties a database the way a restore does before loading a dump (every user schema, extension,
 * publication and large object; `public` recreated as new), in one transaction. Used by dev
 * mode's `reset_on_drift` before reapplying every migration.
 *
 * A URL naming a schema other than public (Prisma's `?schema=`) resets only that schema, the way
 * `prisma migrate reset` does: dropped with everything in it and created again, empty; the rest of
 * the database is left alone (and the reset refused if anything outside depends on the schema).
 */
export async function resetDatabase (databaseUrl: string): Promise<void> {
  const schema = backupScopeOf(parseSchemaUrl(databaseUrl))
  const script = schema === null ? RESTORE_PRELUDE : `${schemaRestorePrelude(schema)}CREATE SCHEMA ${quoteIdentifier(schema)};\n`
  const client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer reset' })
  try {
    await client.query(`${script}\nCOMMIT;`)
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw new Error(`could not reset the database: ${maskSecrets((error as Error).message)}`, { cause: error })
  } finally {
    await client.end().catch(() => {})
  }
}
