import { createTwoFilesPatch } from 'diff'
import type pg from 'pg'
import type { RehearsalResult, RehearsedMigration } from '../domain/index.js'
import { MigrationFailedError } from '../errors/index.js'
import type { ApplyOptions, MigrationFile, MigrationHandler } from '../handlers/types.js'
import { maskSecrets, safeErrorMessage } from '../lib/mask-secrets.js'
import { connectTarget } from '../lib/target-connection.js'
import { relationFiles, rewrittenBetween, schemaChanges, schemaObjects } from './catalog-snapshot.js'
import { copyTarget, schemaText } from './copy-target.js'
import { LockSampler } from './lock-sampler.js'
import { createScratchDatabase, mayCreateDatabases, type ScratchDatabase } from './scratch-database.js'

export interface RehearsalInput {
  targetUrl: string
  /** Where scratch databases are created: `rehearsal.database_url_env`'s URL, or the target's. */
  adminUrl: string
  /** Which variable `adminUrl` came from, for the skip reason. */
  adminSource: string
  handler: MigrationHandler
  pending: MigrationFile[]
  /** The same settings the real apply uses. */
  apply: Pick<ApplyOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>
  lockWaitMs: number
  copyDataBelow: string
  timeoutMs: number
}

const seconds = (ms: number): number => Math.round(ms) / 1000

/**
 * Rehearses the plan on a scratch copy of the target (SPEC §12): restores the target's schema
 * (and small tables' rows), applies the pending migrations through the same handler with the same
 * timeouts and transaction rules, records each one's duration, locks and rewrites, and diffs the
 * schema. The scratch database is always dropped. Never touches the target beyond pg_dump.
 */
export async function runRehearsal (input: RehearsalInput): Promise<RehearsalResult> {
  const started = performance.now()
  const skipped = (reason: string): RehearsalResult => ({ status: 'skipped', reason, duration_seconds: seconds(performance.now() - started), migrations: [], schema_diff: null })
  let holder: pg.Client
  try {
    holder = await connectTarget(input.adminUrl, { applicationName: 'migration-deployer rehearsal' })
  } catch (error) {
    return skipped(`cannot connect to the server for scratch databases (${input.adminSource}): ${safeErrorMessage(error)}`)
  }
  let scratch: ScratchDatabase | undefined
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    // Dropping with FORCE ends every session on the scratch database: the rehearsal stops there.
    scratch?.drop().catch(() => {})
  }, input.timeoutMs)
  try {
    const { may, role } = await mayCreateDatabases(holder)
    if (!may) {
      return skipped(`the role "${role}" of ${input.adminSource} may not create databases (CREATEDB): set rehearsal.database_url_env to a URL whose role may`)
    }
    scratch = await createScratchDatabase(holder, input.adminUrl)
    const result = await rehearse(input, scratch, started)
    if (timedOut) return skipped(`the rehearsal did not finish within ${input.timeoutMs / 1000}s (rehearsal.timeout)`)
    return result
  } catch (error) {
    if (timedOut) return skipped(`the rehearsal did not finish within ${input.timeoutMs / 1000}s (rehearsal.timeout)`)
    return skipped(`the rehearsal could not run: ${safeErrorMessage(error)}`)
  } finally {
    clearTimeout(timer)
    await scratch?.drop().catch(() => {})
    await holder.end().catch(() => {})
  }
}

async function rehearse (input: RehearsalInput, scratch: ScratchDatabase, started: number): Promise<RehearsalResult> {
  const target = await connectTarget(input.targetUrl, { applicationName: 'migration-deployer rehearsal' })
  try {
    await copyTarget(target, input.targetUrl, scratch.url, input.copyDataBelow, input.timeoutMs)
  } finally {
    await target.end().catch(() => {})
  }
  const observer = await connectTarget(scratch.url, { applicationName: 'migration-deployer rehearsal observer' })
  const samplerClient = await connectTarget(scratch.url, { applicationName: 'migration-deployer rehearsal locks' })
  try {
    const pids = await Promise.all([observer, samplerClient].map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0))
    const [beforeText, beforeObjects] = await Promise.all([schemaText(scratch.url, input.timeoutMs), schemaObjects(observer)])
    const sampler = new LockSampler(samplerClient, pids)
    const migrations: RehearsedMigration[] = []
    let files = new Map<number, { name: string, file: string }>()
    let migrationStarted = 0
    let failure: { migration: string, message: string } | undefined
    sampler.start()
    const locked = await input.handler.lock(scratch.url, { waitMs: input.lockWaitMs })
    try {
      await locked.apply(input.pending, { lockTimeoutMs: input.apply.lockTimeoutMs, statementTimeoutMs: input.apply.statementTimeoutMs }, {
        onMigrationStart: async (migration) => {
          files = await relationFiles(observer)
          sampler.startMigration(migration.name)
          migrationStarted = performance.now()
        },
        onMigrationApplied: async (migration, durationMs) => {
          const rewrites = rewrittenBetween(files, await relationFiles(observer))
          migrations.push({ name: migration.name, duration_seconds: seconds(durationMs), locks: sampler.locksOf(migration.name), rewrites })
        }
      })
    } catch (error) {
      const migration = error instanceof MigrationFailedError ? error.migration : input.pending[migrations.length]?.name ?? ''
      const message = error instanceof MigrationFailedError ? error.databaseMessage : safeErrorMessage(error)
      failure = { migration, message }
      migrations.push({ name: migration, duration_seconds: seconds(performance.now() - migrationStarted), locks: sampler.locksOf(migration), rewrites: [] })
    } finally {
      await sampler.stop()
      await locked.release()
    }
    if (failure !== undefined) {
      return { status: 'failed', reason: maskSecrets(`Migration ${failure.migration} failed: ${failure.message}`), duration_seconds: seconds(performance.now() - started), migrations, schema_diff: null }
    }
    const [afterText, afterObjects] = await Promise.all([schemaText(scratch.url, input.timeoutMs), schemaObjects(observer)])
    const unified = beforeText === afterText ? '' : createTwoFilesPatch('schema-before.sql', 'schema-after.sql', beforeText, afterText, '', '', { context: 3 })
    return {
      status: 'passed',
      reason: null,
      duration_seconds: seconds(performance.now() - started),
      migrations,
      schema_diff: { summary: schemaChanges(beforeObjects, afterObjects), unified }
    }
  } finally {
    await observer.end().catch(() => {})
    await samplerClient.end().catch(() => {})
  }
}
