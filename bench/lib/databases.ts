import pg from 'pg'
import { adminUrl, databaseUrl } from '../../test/helpers/databases.js'

export { databaseUrl }

async function onAdmin (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

const quoted = (name: string): string => {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a bench database name: ${name}`)
  return `"${name}"`
}

/** CREATE DATABASE, empty. */
export async function createDatabase (name: string): Promise<void> {
  await onAdmin(`CREATE DATABASE ${quoted(name)}`)
}

/** DROP DATABASE, disconnecting anyone still on it. */
export async function dropDatabase (name: string): Promise<void> {
  await onAdmin(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`)
}

/** Drops and creates again: a fresh, empty database under the same name. */
export async function recreateDatabase (name: string): Promise<void> {
  await dropDatabase(name)
  await createDatabase(name)
}

/** A client on one database, for the bench's own reads (row counts, timestamps). */
export async function connect (name: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl(name), application_name: 'migration-deployer bench' })
  await client.connect()
  return client
}
