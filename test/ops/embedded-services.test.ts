import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { adminUrl } from '../helpers/databases.js'

/**
 * The embedded default (scripts/services.sh): what `npm start` and the tests run on when no
 * DATABASE_URL is given. Skipped against another server (an operator's own DATABASE_URL).
 */

async function withClient<T> (url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** The server log services.sh starts PostgreSQL with (`pg_ctl -l <cluster>/../pg.log`), if this is that server. */
async function embeddedLog (): Promise<string | undefined> {
  const show = async (client: pg.Client): Promise<string | undefined> =>
    (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]?.data_directory
  const dataDirectory = await withClient(adminUrl(), show)
  if (dataDirectory === undefined || path.basename(dataDirectory) !== 'pg') return undefined
  const log = path.join(path.dirname(dataDirectory), 'pg.log')
  return existsSync(log) ? log : undefined
}

const log = await embeddedLog()
const notEmbedded = log === undefined ? 'not the embedded PostgreSQL of scripts/services.sh' : false

t.test('the embedded PostgreSQL\'s log: 0600, and no statement text, data or password in it', { skip: notEmbedded }, async (t) => {
  if (log === undefined) return
  t.equal((statSync(log).mode & 0o777).toString(8), '600', `${log} is readable by its owner only`)
  await withClient(adminUrl(), async (client) => {
    const setting = async (name: string): Promise<string | undefined> => (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name]
    t.equal(await setting('log_file_mode'), '0600', 'log_file_mode (for a logging collector an operator turns on)')
    t.equal(await setting('log_min_error_statement'), 'panic', 'no STATEMENT: lines for failing statements')
    t.equal(await setting('log_error_verbosity'), 'terse', 'no DETAIL/CONTEXT lines (they quote values and JSON input)')
  })

  // A failing statement that holds a password, and one whose DETAIL would quote a row's value.
  const secret = `pw${randomBytes(8).toString('hex')}`
  const value = `val${randomBytes(8).toString('hex')}`
  await withClient(adminUrl(), async (client) => {
    await client.query(`CREATE ROLE md_log_probe LOGIN PASSWORD '${secret}' NOT_AN_OPTION`).catch(() => {})
    await client.query('CREATE TEMP TABLE probe (v text UNIQUE)')
    await client.query(`INSERT INTO probe VALUES ('${value}'), ('${value}')`).catch(() => {})
    await client.query(`SELECT '{"a": "${value}\\ud800"}'::jsonb`).catch(() => {})
  })
  // The server writes its log (a plain stderr redirect) before it answers the error.
  const text = readFileSync(log, 'utf8')
  t.notOk(text.includes(secret), 'the password of the failing CREATE ROLE is not in the log')
  t.notOk(text.includes(value), 'nor a value of a failing INSERT (DETAIL: Key …) or of a JSON input (CONTEXT: JSON data …)')
  t.match(text, /duplicate key value violates unique constraint/, 'the errors themselves are still logged')
})
