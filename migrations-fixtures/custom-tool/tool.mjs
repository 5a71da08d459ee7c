// A minimal migration tool, standing in for "any other tool" behind migration_tool: command.
// `node tool.mjs status` prints APPLIED/PENDING lines, `apply` runs pending .sql files in order,
// `preview` prints them. The URL is read from TARGET_URL only; every run also prints its argv
// and the names of the environment variables it was given, so tests can check both.
import { readdirSync, readFileSync } from 'node:fs'
import pg from 'pg'

const [command] = process.argv.slice(2)
console.log(`argv: ${process.argv.slice(2).join(' ')}`)
console.log(`env: ${Object.keys(process.env).sort().join(',')}`)
if (process.env.PGOPTIONS !== undefined) console.log(`pgoptions: ${process.env.PGOPTIONS}`)
const files = readdirSync(new URL('./migrations', import.meta.url)).filter((f) => f.endsWith('.sql')).sort()
const client = new pg.Client({ connectionString: process.env.TARGET_URL })
await client.connect()
try {
  await client.query('CREATE TABLE IF NOT EXISTS custom_tool_history (name text PRIMARY KEY)')
  const applied = new Set((await client.query('SELECT name FROM custom_tool_history')).rows.map((r) => r.name))
  for (const file of files) {
    if (command === 'status') console.log(`${applied.has(file) ? 'APPLIED' : 'PENDING'} ${file}`)
    if (command === 'preview' && !applied.has(file)) console.log(`would run ${file}: ${readFileSync(new URL(`./migrations/${file}`, import.meta.url), 'utf8').trim()}`)
    if (command === 'apply' && !applied.has(file)) {
      console.log(`applying ${file}`)
      await client.query(readFileSync(new URL(`./migrations/${file}`, import.meta.url), 'utf8'))
      await client.query('INSERT INTO custom_tool_history VALUES ($1)', [file])
      console.log(`done ${file}`)
    }
  }
} catch (error) {
  console.error(`tool error: ${error.message}`)
  process.exitCode = 1
} finally {
  await client.end()
}
