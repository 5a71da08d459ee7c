import type pg from 'pg'
import type { Principal } from '../auth/principal.js'
import type { Config, EnvironmentConfig } from '../config/load.js'
import { NotFoundError } from '../errors/index.js'
import { handlerFor } from '../handlers/index.js'
import type { MigrationFile, MigrationStatus } from '../handlers/types.js'
import { parseSchemaUrl } from '../lib/schema-url.js'
import { resolveInsideWorkspace } from '../lib/workspace-path.js'
import { appendEnvironmentEvent } from '../store/events.js'
import { targetUrlFor } from './target-url.js'

export function environmentOrThrow (config: Config, name: string): EnvironmentConfig {
  const environment = config.environments[name]
  if (environment === undefined) throw new NotFoundError(`environment "${name}" is not configured; configured: ${Object.keys(config.environments).join(', ')}`)
  return environment
}

/** The environment's default project folder inside the workspace, if it has one. */
async function defaultProject (config: Config, environment: EnvironmentConfig): Promise<string | undefined> {
  return environment.working_directory === undefined ? undefined : await resolveInsideWorkspace(config.workspace_root, environment.working_directory)
}

/** The environment's default migrations folder, or null when it has none (inline-only environments). */
export async function defaultSource (config: Config, environment: EnvironmentConfig): Promise<MigrationFile[] | null> {
  const project = await defaultProject(config, environment)
  if (project === undefined) return null
  return await handlerFor(environment, project).readSource(project, config.workspace_root)
}

/**
 * Like `prisma migrate status`: applied, pending, failed and drifted against the default folder,
 * read in `schema` (the URL's `?schema=`, default public).
 */
export async function environmentStatus (
  config: Config, env: NodeJS.ProcessEnv, name: string
): Promise<{ environment: EnvironmentConfig, source: MigrationFile[] | null, status: MigrationStatus, schema: string }> {
  const environment = environmentOrThrow(config, name)
  const source = await defaultSource(config, environment)
  const databaseUrl = targetUrlFor(environment, env)
  const { schema } = parseSchemaUrl(databaseUrl)
  const status = await handlerFor(environment, await defaultProject(config, environment)).status(databaseUrl, source ?? [])
  // Without a source folder, "missing from the source" means nothing.
  if (source === null) status.drifted = []
  return { environment, source, status, schema }
}

/**
 * The equivalent of `prisma migrate resolve`, under the migration lock, recorded in the audit
 * trail with who did it.
 */
export async function resolveEnvironmentMigration (pool: pg.Pool, config: Config, env: NodeJS.ProcessEnv, principal: Principal, name: string, migration: string, as: 'applied' | 'rolled_back'): Promise<{ rowsChanged: number }> {
  const environment = environmentOrThrow(config, name)
  const source = await defaultSource(config, environment) ?? []
  const target = await handlerFor(environment, await defaultProject(config, environment)).lock(targetUrlFor(environment, env), {
    waitMs: environment.migration_lock_wait
  })
  let result: { rowsChanged: number }
  try {
    result = await target.resolve(migration, as, source)
  } finally {
    await target.release()
  }
  const data = { migration, as, rows_changed: result.rowsChanged }
  await appendEnvironmentEvent(pool, { environment: name, type: 'migration_resolved', actor: principal.name, actorIdentity: principal.identity, data })
  return result
}
