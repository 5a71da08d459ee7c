import t from 'tap'
import { FailedMigrationPresentError, LockTimeoutError } from '../../src/errors/pipeline-errors.js'
import { prismaHandler } from '../../src/handlers/prisma/index.js'
import { sha256Hex } from '../../src/lib/checksum.js'
import { createEmptyDatabase, databaseUrl, dropDatabase, queryDatabase } from '../helpers/databases.js'

// createHistoryHandler (src/handlers/shared/history-handler.ts), through the handler built on it
// for Prisma: read-only status, the lock on its own connection, apply, resolve.

const file = (name: string, sql: string): { name: string, sql: string, checksum: string } => ({ name, sql, checksum: sha256Hex(Buffer.from(sql)) })
const widgets = file('20250101000000_widgets', 'CREATE TABLE widgets (id serial primary key);\n')
const gadgets = file('20250102000000_gadgets', 'CREATE TABLE gadgets (id serial primary key);\n')
const options = { lockTimeoutMs: 0, statementTimeoutMs: 0 }

t.test('the history handler', async (t) => {
  const name = await createEmptyDatabase('md_history')
  t.teardown(async () => { await dropDatabase(name) })
  const url = databaseUrl(name)

  await t.test('status is read-only: a new database has everything pending and no history table is created', async (t) => {
    const status = await prismaHandler.status(url, [widgets, gadgets])
    t.match(status, { historyTableExists: false, applied: [], failed: [], drifted: [] })
    t.same(status.pending.map((m) => m.name), [widgets.name, gadgets.name])
    const [table] = await queryDatabase<{ found: boolean }>(name, 'SELECT to_regclass(\'_prisma_migrations\') IS NOT NULL AS found')
    t.equal(table?.found, false)
  })

  await t.test('under the lock: apply in order, each with its history row; a second lock waits, bounded, naming the holder', async (t) => {
    const target = await prismaHandler.lock(url, { waitMs: 5_000 })
    try {
      const progress: string[] = []
      const applied = await target.apply([widgets, gadgets], options, { onMigrationApplied: (m) => { progress.push(m.name) } })
      t.same(applied.map((m) => m.name), [widgets.name, gadgets.name])
      t.same(progress, [widgets.name, gadgets.name])
      await t.rejects(prismaHandler.lock(url, { waitMs: 300 }), LockTimeoutError, 'the lock is held')
      await t.rejects(prismaHandler.lock(url, { waitMs: 300 }), { message: /held by .*migration-deployer/ })
    } finally {
      await target.release()
    }
    const status = await prismaHandler.status(url, [widgets, gadgets])
    t.same(status.applied.map((m) => [m.name, m.checksum]), [[widgets.name, widgets.checksum], [gadgets.name, gadgets.checksum]])
    t.same(status.pending, [])
  })

  await t.test('a failed row blocks apply until resolved', async (t) => {
    const sprockets = file('20250103000000_sprockets', 'CREATE TABLE sprockets (id serial primary key);\n')
    // The row Prisma leaves when a migration fails: started, never finished.
    const failedRow = 'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)'
    await queryDatabase(name, failedRow, ['00000000-0000-4000-8000-000000000001', sprockets.checksum, sprockets.name])
    const target = await prismaHandler.lock(url, { waitMs: 5_000 })
    try {
      t.same((await target.status([widgets, gadgets, sprockets])).failed.map((m) => m.name), [sprockets.name])
      await t.rejects(target.apply([sprockets], options), FailedMigrationPresentError)
      t.same(await target.resolve(sprockets.name, 'rolled_back', [sprockets]), { rowsChanged: 1 })
      t.same((await target.apply([sprockets], options)).map((m) => m.name), [sprockets.name], 'once rolled back it applies')
    } finally {
      await target.release()
    }
  })
})
