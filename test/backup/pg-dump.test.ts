import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import pg from 'pg'
import t from 'tap'
import { BackupError } from '../../src/backup/backup-error.js'
import { BACKUP_ID_PATTERN, newBackupId } from '../../src/backup/backup-id.js'
import { createPgDumpBackup } from '../../src/backup/pg-dump.js'
import { restorePgDumpBackup } from '../../src/backup/restore.js'
import { adminUrl, createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase, uniqueName } from '../helpers/databases.js'
import { appMigrations, applyMigrations } from '../helpers/database-snapshots.js'

const dir = mkdtempSync(path.join(tmpdir(), 'md-pg-dump-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

/** A stand-in pg_dump: a shell script that answers --version and does `body` otherwise. */
function fakePgDump (name: string, version: string, body: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) ${version}"; exit 0; fi\n${body}\n`)
  chmodSync(file, 0o755)
  return file
}

t.test('backup ids: backup-YYYYMMDD-HHMMSS in UTC plus a 4-hex suffix', async (t) => {
  const id = newBackupId(new Date('2025-01-24T10:30:00.123Z'))
  t.match(id, /^backup-20250124-103000-[0-9a-f]{4}$/)
  t.match(id, BACKUP_ID_PATTERN)
})

t.test('a backup of a database with data: a verified custom-format dump under <dir>/<environment>', async (t) => {
  const db = await createEmptyDatabase('md_backup')
  t.teardown(() => dropDatabase(db))
  await applyMigrations(db, (await appMigrations()).slice(0, 2))
  await queryDatabase(db, `INSERT INTO "User" ("email", "name") VALUES ('ann@example.com', 'Ann'), ('bob@example.com', 'Bob')`)

  const backupDir = path.join(dir, 'not', 'there', 'yet')
  const started = new Date()
  const backup = await createPgDumpBackup({ databaseUrl: databaseUrl(db), dir: backupDir, environment: 'production' })
  t.match(backup.backupId, BACKUP_ID_PATTERN)
  const stamp = started.toISOString().slice(0, 10).replaceAll('-', '')
  t.ok(backup.backupId.startsWith(`backup-${stamp}-`), 'dated today, in UTC')
  t.equal(backup.file, path.join(backupDir, 'production', `${backup.backupId}.dump`))
  t.equal(backup.provider, 'pg_dump')
  t.equal(backup.verified, true)
  t.ok(existsSync(backup.file as string))
  t.ok((backup.sizeBytes as number) > 0, `size ${backup.sizeBytes}`)
  t.type(backup.durationMs, 'number')
  t.match(backup.serverVersion, /^\d+\.\d+$/)
  t.match(backup.pgDumpVersion, /^\d+\.\d+/)

  const listed = await execa('pg_restore', ['--list', backup.file as string])
  t.match(listed.stdout, /Format: CUSTOM/)
  t.match(listed.stdout, /TABLE DATA public User /)
  t.match(listed.stdout, /TABLE DATA public _prisma_migrations /)
  t.match(listed.stdout, /TYPE public Role /)

  t.test('two backups started together get distinct ids and files', async (t) => {
    const [a, b] = await Promise.all([
      createPgDumpBackup({ databaseUrl: databaseUrl(db), dir: backupDir, environment: 'production' }),
      createPgDumpBackup({ databaseUrl: databaseUrl(db), dir: backupDir, environment: 'production' })
    ])
    t.not(a.backupId, b.backupId)
    t.not(a.file, b.file)
    t.ok(existsSync(a.file as string) && existsSync(b.file as string))
    t.comment(`ids: ${a.backupId} ${b.backupId}`)
  })
})

t.test('an empty database backs up too (a first deployment to a new production database)', async (t) => {
  const db = await createEmptyDatabase('md_backup')
  t.teardown(() => dropDatabase(db))
  const backup = await createPgDumpBackup({ databaseUrl: databaseUrl(db), dir, environment: 'empty' })
  t.equal(backup.verified, true)
  // Restoring it empties the database again.
  await queryDatabase(db, 'CREATE TABLE later (id int); CREATE SCHEMA extra')
  await restorePgDumpBackup({ databaseUrl: databaseUrl(db), file: backup.file as string })
  const left = await queryDatabase(db, `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`)
  t.same(left, [{ nspname: 'public' }])
  t.same(await queryDatabase(db, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace`), [])
})

t.test('a pg_dump path that does not exist is a BackupError naming the path', async (t) => {
  const missing = path.join(dir, 'no-such-dir', 'pg_dump')
  const error = await createPgDumpBackup({ databaseUrl: adminUrl(), dir, environment: 'missing', pgDumpPath: missing }).catch((e: unknown) => e)
  t.ok(error instanceof BackupError, String(error))
  t.equal((error as BackupError).code, 'BACKUP_FAILED')
  t.match((error as Error).message, `pg_dump not found at ${missing}`)
  t.match((error as Error).message, 'backup.pg_dump_path')
  t.notOk(existsSync(path.join(dir, 'missing')), 'nothing was created')
})

t.test('a pg_dump older than the server is refused, naming both versions', async (t) => {
  const old = fakePgDump('old-pg_dump', '9.6.0', 'echo "must not run" >&2; exit 1')
  const [server] = await queryDatabase<{ version: string }>('postgres', "SELECT split_part(current_setting('server_version'), ' ', 1) AS version")
  const major = (server?.version ?? '').split('.')[0]
  const error = await createPgDumpBackup({ databaseUrl: adminUrl(), dir, environment: 'old', pgDumpPath: old }).catch((e: unknown) => e)
  t.ok(error instanceof BackupError, String(error))
  t.equal((error as Error).message,
    `pg_dump 9.6.0 is older than the server (PostgreSQL ${server?.version}); install postgresql-client-${major} or set backup.pg_dump_path`)
  t.notOk(existsSync(path.join(dir, 'old')), 'refused before any file was made')

  const same = fakePgDump('same-major-pg_dump', `${major}.0`, 'exit 0')
  const sameError = await createPgDumpBackup({ databaseUrl: adminUrl(), dir, environment: 'same', pgDumpPath: same }).catch((e: unknown) => e)
  t.notMatch((sameError as Error).message, /older than the server/, 'an older minor of the same major is fine')
})

t.test('pg_dump gets the connection in its environment only; its stderr is in the error, masked', async (t) => {
  const record = path.join(dir, 'record')
  const fake = fakePgDump('recording-pg_dump', '99.0', [
    `printf '%s\\n' "$@" > ${record}.argv`,
    `env | grep '^PG' | sort > ${record}.env`,
    'echo "pg_dump: error: connection failed with password $PGPASSWORD" >&2',
    'exit 1'
  ].join('\n'))
  const url = new URL(adminUrl())
  url.searchParams.set('sslmode', 'disable')
  const password = decodeURIComponent(url.password)
  const error = await createPgDumpBackup({ databaseUrl: url.toString(), dir, environment: 'recorded', pgDumpPath: fake }).catch((e: unknown) => e)
  t.ok(error instanceof BackupError, String(error))
  const message = (error as Error).message
  t.match(message, /pg_dump exited with code 1: pg_dump: error: connection failed with password \*\*\*/)
  t.notMatch(message, password)

  const argv = readFileSync(`${record}.argv`, 'utf8').trim().split('\n')
  t.equal(argv.length, 3)
  t.same(argv.slice(0, 2), ['--format=custom', '--no-password'])
  t.match(argv[2], /^--file=.*\/recorded\/backup-\d{8}-\d{6}-[0-9a-f]{4}\.dump$/)
  for (const arg of argv) t.notMatch(arg, password)
  const env = Object.fromEntries(readFileSync(`${record}.env`, 'utf8').trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
  t.same(env, {
    PGAPPNAME: 'migration-deployer backup',
    PGDATABASE: 'postgres',
    PGHOST: url.hostname,
    PGPASSWORD: password,
    PGPORT: url.port,
    PGSSLMODE: 'disable',
    PGUSER: decodeURIComponent(url.username)
  })
  t.same(readdirSync(path.join(dir, 'recorded')), [], 'the failed dump left no file')
})

t.test('a dump that does not verify is a BackupError and is deleted', async (t) => {
  const fake = fakePgDump('empty-pg_dump', '99.0', 'exit 0')
  const error = await createPgDumpBackup({ databaseUrl: adminUrl(), dir, environment: 'unverified', pgDumpPath: fake }).catch((e: unknown) => e)
  t.ok(error instanceof BackupError, String(error))
  t.match((error as Error).message, /did not verify: pg_restore --list exited with code 1: pg_restore: error: input file is too short/)
  t.same(readdirSync(path.join(dir, 'unverified')), [])
})

t.test('the password never appears in any process argument list while pg_dump and psql run', async (t) => {
  const role = uniqueName('md_backup_role')
  const password = `pw-${randomBytes(12).toString('hex')}`
  const db = uniqueName('md_backup_ps')
  await queryDatabase('postgres', `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`)
  await queryDatabase('postgres', `CREATE DATABASE ${db} OWNER ${role}`)
  t.teardown(async () => {
    await dropDatabase(db)
    await queryDatabase('postgres', `DROP ROLE IF EXISTS ${role}`)
  })
  const url = new URL(databaseUrl(db))
  url.username = role
  url.password = password
  const roleUrl = url.toString()
  const owner = new pg.Client({ connectionString: roleUrl })
  await owner.connect()
  await owner.query(`CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items SELECT i, md5(i::text) FROM generate_series(1, 1000) AS i`)
  await owner.end()

  // An ACCESS EXCLUSIVE lock keeps the tool connected and waiting, so sampling is certain to see it.
  async function sampleWhileBlocked<T> (tool: string, run: () => Promise<T>): Promise<T> {
    const locker = new pg.Client({ connectionString: databaseUrl(db) })
    await locker.connect()
    await locker.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE')
    const running = run()
    let samples = 0
    let seen = 0
    try {
      while (seen < 20 && samples < 2000) {
        const { stdout } = await execa('ps', ['-eo', 'args'])
        samples++
        const lines = stdout.split('\n')
        if (lines.some((line) => line.includes(password))) t.fail(`the password appeared in ps: ${lines.find((line) => line.includes(password))}`)
        if (lines.some((line) => line.includes(roleUrl) || line.includes(`${role}:`))) t.fail('the URL appeared in ps')
        const toolLine = lines.find((line) => line.split(' ')[0]?.endsWith(tool) === true)
        if (toolLine !== undefined && seen++ === 0) t.comment(`seen: ${toolLine}`)
      }
    } finally {
      await locker.query('COMMIT')
      await locker.end()
    }
    t.ok(seen >= 20, `${tool} was seen running in ${seen} of ${samples} samples`)
    return await running
  }

  const backup = await sampleWhileBlocked('pg_dump', async () => await createPgDumpBackup({ databaseUrl: roleUrl, dir, environment: 'ps' }))
  t.ok(backup.verified)
  await queryDatabase(db, 'INSERT INTO items VALUES (1001, $1)', ['after the backup'])
  await sampleWhileBlocked('psql', async () => await restorePgDumpBackup({ databaseUrl: roleUrl, file: backup.file as string }))
  const [count] = await queryDatabase<{ n: string }>(db, 'SELECT count(*) AS n FROM items')
  t.equal(Number(count?.n), 1000, 'and the restore, run as the database owner (not a superuser), worked')
})
