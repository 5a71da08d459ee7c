import pg from 'pg'
import { maskSecrets, registerUrlSecret } from '../lib/mask-secrets.js'
import { RESTORE_PRELUDE } from './restore-script.js'

/**
 * Empties a database the way a restore does before loading a dump (every user schema, extension,
 * publication and large object; `public` recreated as new), in one transaction. Used by dev
 * mode's `reset_on_drift` before reapplying every migration.
 */
export async function resetDatabase (databaseUrl: string): Promise<void> {
  registerUrlSecret(databaseUrl)
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'migration-deployer reset' })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query(`${RESTORE_PRELUDE}\nCOMMIT;`)
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw new Error(`could not reset the database: ${maskSecrets((error as Error).message)}`, { cause: error })
  } finally {
    await client.end().catch(() => {})
  }
}
