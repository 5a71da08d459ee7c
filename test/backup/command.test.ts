import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { BackupError } from '../../src/backup/backup-error.js'
import { BACKUP_ID_PATTERN } from '../../src/backup/backup-id.js'
import { runCommandBackup, substitutePlaceholders } from '../../src/backup/command.js'
import { adminUrl } from '../helpers/databases.js'

const dir = mkdtempSync(path.join(tmpdir(), 'md-backup-command-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

// A stand-in snapshot tool: records its argv and what it received in DATABASE_URL (a hash, so the
// password never lands on disk), prints the URL to stdout as a careless tool might, and exits 0.
const RECORDER = `
const { createHash } = require('node:crypto')
const { writeFileSync } = require('node:fs')
const [out, ...rest] = process.argv.slice(1)
const url = process.env.DATABASE_URL
writeFileSync(out, JSON.stringify({ args: rest, hasUrl: url !== undefined, urlSha: url && createHash('sha256').update(url).digest('hex'), pgPassword: process.env.PGPASSWORD ?? null }))
console.log('snapshotting ' + url)
console.error('done')
`

t.test('substitutePlaceholders replaces {environment} and {backup_id} in every element', async (t) => {
  t.same(substitutePlaceholders(['snap', '--name={environment}-{backup_id}', '{backup_id}', '{other}'], { environment: 'production', backupId: 'backup-20250124-103000-abcd' }),
    ['snap', '--name=production-backup-20250124-103000-abcd', 'backup-20250124-103000-abcd', '{other}'])
})

t.test('the command provider runs the argv without a shell, with DATABASE_URL in its environment only', async (t) => {
  const url = adminUrl()
  const password = decodeURIComponent(new URL(url).password)
  const out = path.join(dir, 'recorded.json')
  process.env.PGPASSWORD = 'inherited-should-not-leak'
  t.teardown(() => { delete process.env.PGPASSWORD })
  const result = await runCommandBackup({
    argv: [process.execPath, '-e', RECORDER, out, '--env={environment}', '--id={backup_id}', '$HOME;{environment}'],
    databaseUrl: url,
    environment: 'production'
  })
  t.match(result.backupId, BACKUP_ID_PATTERN)
  t.equal(result.provider, 'command')
  t.equal(result.file, null)
  t.equal(result.sizeBytes, null)
  t.equal(result.verified, false)
  t.type(result.durationMs, 'number')

  const recorded = JSON.parse(readFileSync(out, 'utf8')) as { args: string[], hasUrl: boolean, urlSha: string, pgPassword: string | null }
  t.same(recorded.args, ['--env=production', `--id=${result.backupId}`, '$HOME;production'], 'placeholders substituted; no shell expanded $HOME')
  t.equal(recorded.hasUrl, true, 'DATABASE_URL is set for the command')
  const { createHash } = await import('node:crypto')
  t.equal(recorded.urlSha, createHash('sha256').update(url).digest('hex'), 'and is the target URL')
  t.equal(recorded.pgPassword, null, 'inherited PG* variables are removed')
  for (const arg of recorded.args) t.notMatch(arg, password)

  t.match(result.output, /snapshotting postgres:\/\/postgres:\*\*\*@/, 'the output is captured')
  t.match(result.output, /done/, 'stderr too')
  t.notMatch(result.output, password, 'masked')
})

t.test('a failing command is a BackupError with its output, masked', async (t) => {
  const url = adminUrl()
  const password = decodeURIComponent(new URL(url).password)
  const error = await runCommandBackup({
    argv: [process.execPath, '-e', 'console.error("snapshot of " + process.env.DATABASE_URL + " refused: quota exceeded"); process.exit(3)'],
    databaseUrl: url,
    environment: 'staging'
  }).catch((e: unknown) => e)
  t.ok(error instanceof BackupError, String(error))
  t.equal((error as BackupError).code, 'BACKUP_FAILED')
  t.match((error as Error).message, /exited with code 3: snapshot of postgres:\/\/postgres:\*\*\*@.* refused: quota exceeded/)
  t.notMatch((error as Error).message, password)

  const missing = await runCommandBackup({ argv: [path.join(dir, 'no-such-tool'), '{backup_id}'], databaseUrl: url, environment: 'staging' }).catch((e: unknown) => e)
  t.ok(missing instanceof BackupError)
  t.match((missing as Error).message, `backup command failed: no-such-tool not found at ${path.join(dir, 'no-such-tool')}`)

  const empty = await runCommandBackup({ argv: [], databaseUrl: url, environment: 'staging' }).catch((e: unknown) => e)
  t.match((empty as Error).message, /backup.command is empty/)
})
