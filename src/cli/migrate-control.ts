import { registerUrlSecret } from '../lib/mask-secrets.js'
import { migrateControlDatabase } from '../process/migrate-control-database.js'

/**
 * `migration-deployer migrate`: brings the control database (DATABASE_URL) up to date and exits.
 * Every process does this at start too; this command is for when the processes connect as a
 * role that may not change the schema (ops/control-db-role.sql): run it as the schema's owner at
 * install and before each upgrade. Returns the exit code.
 */
export async function migrateControl (env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  const url = env.DATABASE_URL
  if (url === undefined || url === '') {
    out('DATABASE_URL must be set: the control database, as a role that owns its schema')
    return 2
  }
  registerUrlSecret(url)
  const applied = await migrateControlDatabase(url)
  out(applied === 0 ? 'the control database is up to date' : `the control database is up to date: applied ${applied} migration(s)`)
  return 0
}
