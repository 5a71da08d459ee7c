import { countStatements } from '../analysis/statement-count.js'
import type { Principal } from '../auth/principal.js'
import type { Config } from '../config/load.js'
import { BadRequestError, MigrationTooLargeError, TooManyQueuedError } from '../errors/index.js'
import { handlerFor } from '../handlers/index.js'
import { sha256Hex } from '../lib/checksum.js'
import { newUlid } from '../lib/ulid-id.js'
import { resolveInsideWorkspace } from '../lib/workspace-path.js'
import type { DeploymentToInsert, NewDeployment } from '../store/deployments.js'
import type { DeploymentRow, OperationName, SourceInfo } from '../domain/index.js'
import { insertDeploymentsWithinQuota, isQueuedWorkRefusal, type QueuedWorkRefusal } from '../store/queued-work.js'
import { withTransaction } from '../store/pool.js'
import { getBackup } from '../store/backups.js'
import type pg from 'pg'

export interface CreateDeploymentInput {
  operation: OperationName
  environment: string
  dry_run: boolean
  skip_backup: boolean
  skip_health_check: boolean
  working_directory?: string | undefined
  migrations?: Array<{ name: string, sql: string }> | undefined
  source?: SourceInfo | undefined
  backup_id?: string | undefined
}

export interface CreateDeploymentOptions {
  /** Written in the same transaction as the deployment, or neither is (the Idempotency-Key record, for one). */
  inTransaction?: (db: pg.PoolClient, row: DeploymentRow) => Promise<void>
  /**
   * Records the deployment on its own (no `inTransaction`); the API records concurrent requests together
   * (with recordWithinQueuedWorkLimit). Default: recordWithinQueuedWorkLimit of this one.
   */
  insert?: (item: DeploymentToInsert) => Promise<DeploymentRow>
}

/**
 * Validates a deployment request against the config and records it as `queued`. The row is
 * committed before anything is enqueued: the control database is the source of truth.
 */
export async function createDeployment (
  pool: pg.Pool,
  config: Config,
  principal: Principal,
  input: CreateDeploymentInput,
  options: CreateDeploymentOptions = {}
): Promise<DeploymentRow> {
  const environment = config.environments[input.environment]
  if (environment === undefined) {
    const known = Object.keys(config.environments)
    throw new BadRequestError(
      `unknown environment "${input.environment}"; valid environments: ${known.join(', ')}`,
      { valid_environments: known },
      'UNKNOWN_ENVIRONMENT'
    )
  }
  let inline: DeploymentRow['inline_migrations'] = null
  if (input.operation === 'restore-backup' && environment.targets !== undefined) {
    throw new BadRequestError(`environment ${environment.name} is a fleet: restore-backup works on one database; restore the target's backup by hand`, undefined, 'FLEET_RESTORE_UNSUPPORTED')
  }
  if (input.operation === 'restore-backup') {
    await assertRestorable(pool, environment.name, input.backup_id)
  } else if (input.migrations !== undefined) {
    if (input.working_directory !== undefined) throw new BadRequestError('send either "migrations" (inline) or "working_directory", not both')
    const seen = new Set<string>()
    for (const migration of input.migrations) {
      if (seen.has(migration.name)) { throw new BadRequestError(`migration "${migration.name}" appears twice in "migrations"; each name must be unique`, undefined, 'DUPLICATE_MIGRATION') }
      seen.add(migration.name)
    }
    assertStatementCounts(input.migrations, config.limits.max_statements_per_migration)
    inline = input.migrations.map((m) => ({ name: m.name, sql: m.sql, checksum: sha256Hex(Buffer.from(m.sql, 'utf8')) }))
    // Refuse now (400) names the tool would not apply, or inline uploads a tool cannot take.
    handlerFor(environment).orderSource(inline)
  } else {
    const directory = input.working_directory ?? environment.working_directory
    if (directory === undefined) {
      throw new BadRequestError(
        `environment ${environment.name} has no default working_directory: send "migrations" inline or a "working_directory"`,
        undefined,
        'NO_MIGRATION_SOURCE'
      )
    }
    // Fail now, with a 400, rather than later in the worker: the folder must exist inside the workspace and hold migrations.
    const handler = handlerFor(environment)
    await (handler.checkSource ?? handler.readSource)(await resolveInsideWorkspace(config.workspace_root, directory), config.workspace_root)
  }
  const dryRun = input.dry_run || input.operation === 'preview-migrations'
  const row: NewDeployment = {
    id: `dep_${newUlid()}`,
    operation: dryRun && input.operation === 'deploy-migrations' ? 'preview-migrations' : input.operation,
    environment: environment.name,
    mode: environment.mode,
    requested_by: principal.name,
    requested_identity: principal.identity === undefined ? null : { ...principal.identity, roles: [...principal.roles] },
    dry_run: dryRun,
    skip_backup: input.skip_backup,
    skip_health_check: input.skip_health_check,
    working_directory: input.working_directory ?? null,
    source: input.source ?? null,
    inline_migrations: inline,
    backup_id: input.backup_id ?? null
  }
  const created = {
    actor: principal.name,
    data: {
      environment: row.environment,
      operation: row.operation,
      backup_id: row.backup_id,
      dry_run: dryRun,
      skip_backup: input.skip_backup,
      skip_health_check: input.skip_health_check,
      source: row.source,
      inline_migrations: inline?.length ?? null
    }
  }
  const item = { deployment: row, created }
  const { inTransaction, insert } = options
  if (inTransaction === undefined && insert !== undefined) return await insert(item)
  return await withTransaction(pool, async (db) => {
    const [inserted] = await insertDeploymentsWithinQuota(db, [item], config.limits.queued_per_token) as [DeploymentRow | QueuedWorkRefusal]
    if (isQueuedWorkRefusal(inserted)) throw tooManyQueued(inserted)
    await inTransaction?.(db, inserted)
    return inserted
  })
}

/**
 * Records new deployments in one transaction, each requester within its limit of deployments
 * queued or running (`limits.queued_per_token`, see insertDeploymentsWithinQuota); a deployment
 * past it comes back as a TooManyQueuedError (429) in its place.
 */
export async function recordWithinQueuedWorkLimit (
  pool: pg.Pool,
  items: readonly DeploymentToInsert[],
  maxQueued: number
): Promise<Array<DeploymentRow | TooManyQueuedError>> {
  const results = await withTransaction(pool, async (db) => await insertDeploymentsWithinQuota(db, items, maxQueued))
  return results.map((result) => (isQueuedWorkRefusal(result) ? tooManyQueued(result) : result))
}

// A plan takes seconds: a few of them finish in the time a client waits.
const QUEUED_WORK_RETRY_AFTER_SECONDS = 10

function tooManyQueued (refusal: QueuedWorkRefusal): TooManyQueuedError {
  return new TooManyQueuedError(
    `token ${refusal.requestedBy} already has ${refusal.queued} deployments queued or running, the most one token may have (limits.queued_per_token): ` +
      `retry once some have finished (in ${QUEUED_WORK_RETRY_AFTER_SECONDS}s, see the Retry-After header); GET /deployments?status=queued lists them`,
    { queued: refusal.queued, limit: refusal.max, retry_after_seconds: QUEUED_WORK_RETRY_AFTER_SECONDS })
}

/**
 * The API never parses SQL (the worker does, on a thread): a cheap count of the `;`s refuses, with a
 * 422, a migration that holds more statements than a plan may parse. The count never falls short
 * of the parser's, so nothing it lets through is refused later for its size.
 */
function assertStatementCounts (migrations: Array<{ name: string, sql: string }>, limit: number): void {
  for (const migration of migrations) {
    const count = countStatements(migration.sql, limit)
    if (count <= limit) continue
    throw new MigrationTooLargeError(
      `migration "${migration.name}" holds more than ${limit} statements (limits.max_statements_per_migration): split it into several migrations, or ask an operator to raise the limit`,
      { migration: migration.name, statements: count, limit })
  }
}

/** A restore names a verified pg_dump backup of the same environment that still exists. */
async function assertRestorable (pool: pg.Pool, environment: string, backupId: string | undefined): Promise<void> {
  const backup = backupId === undefined ? undefined : await getBackup(pool, backupId)
  const list = `list restorable backups with GET /environments/${environment}/backups`
  if (backup === undefined) throw new BadRequestError(`backup ${backupId ?? '(none)'} does not exist; ${list}`, undefined, 'UNKNOWN_BACKUP')
  if (backup.environment !== environment) throw new BadRequestError(`backup ${backup.id} belongs to environment ${backup.environment}, not ${environment}; a backup is only restored to the environment it was taken from`, undefined, 'BACKUP_OF_ANOTHER_ENVIRONMENT')
  if (backup.deleted_at !== null) throw new BadRequestError(`backup ${backup.id} was pruned; ${list}`, undefined, 'BACKUP_PRUNED')
  if (backup.provider !== 'pg_dump' || backup.file === null) throw new BadRequestError(`backup ${backup.id} was taken by the ${backup.provider} provider: restore it with that tool`, undefined, 'BACKUP_NOT_RESTORABLE')
  if (!backup.verified) throw new BadRequestError(`backup ${backup.id} failed verification and cannot be restored; ${list}`, undefined, 'BACKUP_NOT_VERIFIED')
}
