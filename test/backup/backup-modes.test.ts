import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { createPgDumpBackup } from '../../src/backup/pg-dump.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'

/**
 * A dump holds every row of the database, secrets included: only the deployer's own user may
 * read it. Files 0600 and folders 0700 whatever the process's umask (issue 17, finding 4).
 */

const dir = mkdtempSync(path.join(tmpdir(), 'md-backup-modes-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

const modeOf = (file: string): string => (statSync(file).mode & 0o777).toString(8).padStart(4, '0')

t.test('dumps are 0600 in 0700 folders, even under umask 000', async (t) => {
  const db = await createEmptyDatabase('md_modes')
  t.teardown(() => dropDatabase(db))
  await queryDatabase(db, 'CREATE TABLE secrets (token text); INSERT INTO secrets VALUES (\'s3cr3t\')')

  const previous = process.umask(0o000)
  t.teardown(() => { process.umask(previous) })
  const fresh = path.join(dir, 'fresh', 'backups')
  const backup = await createPgDumpBackup({ databaseUrl: databaseUrl(db), dir: fresh, environment: 'production' })
  t.equal(modeOf(backup.file as string), '0600', 'the dump file')
  t.equal(modeOf(path.join(fresh, 'production')), '0700', 'the environment folder')
  t.equal(modeOf(fresh), '0700', 'backup.dir itself, created by the deployer')

  // A backup.dir left world-readable by an earlier version (or an operator's mkdir), with a
  // world-readable dump from then: tightened when the next backup is taken there.
  const old = path.join(dir, 'old')
  mkdirSync(path.join(old, 'staging'), { recursive: true, mode: 0o755 })
  chmodSync(old, 0o755)
  chmodSync(path.join(old, 'staging'), 0o755)
  const earlier = path.join(old, 'staging', 'backup-20250101-000000-abcd.dump')
  writeFileSync(earlier, 'an earlier dump')
  chmodSync(earlier, 0o644)
  process.umask(0o022)
  const second = await createPgDumpBackup({ databaseUrl: databaseUrl(db), dir: old, environment: 'staging' })
  t.equal(modeOf(second.file as string), '0600', 'the new dump')
  t.equal(modeOf(path.join(old, 'staging')), '0700', 'the existing environment folder is tightened')
  t.equal(modeOf(old), '0700', 'the existing backup.dir is tightened')
  t.equal(modeOf(earlier), '0600', 'an earlier dump in the folder is tightened')
})
