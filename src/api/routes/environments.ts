import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { driftWatchOf } from './environment-drift.js'
import { driftWatchSchema } from '../../schemas/drift.js'
import { environmentOrThrow, environmentStatus, resolveEnvironmentMigration } from '../../pipeline/environment-actions.js'
import { deploymentSource, type DeploymentSource } from '../../store/deployment-source.js'
import { listBackups } from '../../store/backups.js'
import { listDeployments } from '../../store/deployments.js'
import { authErrors, errorBodySchema } from '../../schemas/common.js'
import { principalOf } from '../plugins/auth.js'
import { assertMayActIn, mayReadIn } from '../../auth/environment-scope.js'

const READ_ROLES = ['viewer', 'deployer', 'approver'] as const

const environmentSchema = z.object({
  name: z.string(),
  mode: z.enum(['dev', 'deploy']),
  migration_tool: z.string(),
  protected: z.boolean(),
  working_directory: z.string().nullable(),
  requires_success_in: z.array(z.string()),
  approval: z.object({ required_approvals: z.number().int(), roles: z.array(z.string()), approvers: z.array(z.string()).nullable().meta({ description: 'Named approvers, when the config restricts approval to them' }), allow_self_approval: z.boolean(), expires_after_seconds: z.number() }).nullable(),
  backup_before_migrate: z.boolean(),
  on_failure: z.string()
}).meta({ id: 'Environment' })

const backupSchema = z.object({
  id: z.string().meta({ example: 'backup-20250124-103000-1a2b' }),
  deployment_id: z.string().nullable(),
  provider: z.enum(['pg_dump', 'command']),
  size_bytes: z.number().nullable(),
  duration_ms: z.number(),
  verified: z.boolean(),
  server_version: z.string().nullable(),
  schema: z.string().nullable()
    .meta({ description: 'The one schema the dump holds (the database URL\'s `?schema=`, other than public); null for the whole database' }),
  created_at: z.string()
}).meta({ id: 'Backup' })

const environmentParams = z.object({ name: z.string().min(1).max(100).meta({ example: 'production' }) })

const statusSchema = z.object({
  environment: z.string(),
  migration_tool: z.string(),
  working_directory: z.string().nullable(),
  schema: z.string().meta({
    description: "The schema the history is read from and migrations apply in: the database URL's `?schema=` parameter (Prisma's), default `public`",
    example: 'public'
  }),
  up_to_date: z.boolean().meta({ description: 'Nothing pending, failed or drifted' }),
  history_table_exists: z.boolean(),
  applied: z.array(z.object({ name: z.string(), checksum: z.string(), started_at: z.string().nullable().meta({ description: 'null when the tool keeps no time (command handler)' }), finished_at: z.string().nullable() })),
  pending: z.array(z.object({ name: z.string(), checksum: z.string() })),
  failed: z.array(z.object({ name: z.string(), started_at: z.string().nullable(), logs: z.string().nullable(), resolve: z.string() })),
  drifted: z.array(z.object({ name: z.string(), reason: z.enum(['checksum_changed', 'missing_from_source']), applied_checksum: z.string(), source_checksum: z.string().nullable() })),
  last_deployment: z.object({
    id: z.string(),
    operation: z.string(),
    status: z.string(),
    requested_by: z.string(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    link: z.string(),
    migrations_from: z.enum(['inline', 'working_directory']).nullable()
      .meta({ description: 'Where its migrations came from: uploaded inline (deploy --dir), or a working directory; null for a restore' }),
    working_directory: z.string().nullable().meta({ description: 'The working directory it used, when not inline' })
  }).nullable().meta({
    description: 'This status compares the database with the environment\'s working_directory; a last deployment from another source explains drift shown here'
  }),
  last_backup: z.object({ id: z.string(), created_at: z.string(), size_bytes: z.number().nullable(), restore_command: z.string() }).nullable(),
  drift_watch: driftWatchSchema
}).meta({ id: 'EnvironmentStatus' })

/** Configured environments and their databases' migration status, never a URL or a password. */
const environmentRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, pool } = app.services
  const env = app.services.env ?? process.env

  app.get(
    '/environments',
    {
      onRequest: app.requireRole(...READ_ROLES),
      schema: {
        operationId: 'listEnvironments',
        tags: ['environments'],
        summary: 'List configured environments',
        response: { 200: z.object({ environments: z.array(environmentSchema) }), ...authErrors }
      }
    },
    async (request) => ({
      environments: Object.values(config.environments).filter((environment) => mayReadIn(principalOf(request), environment.name)).map((environment) => ({
        name: environment.name,
        mode: environment.mode,
        migration_tool: environment.migration_tool,
        protected: environment.protected,
        working_directory: environment.working_directory ?? null,
        requires_success_in: environment.requires_success_in,
        approval: environment.protected
          ? {
              required_approvals: environment.approval.required_approvals,
              roles: [...environment.approval.roles],
              approvers: environment.approval.approvers ?? null,
              allow_self_approval: environment.approval.allow_self_approval,
              expires_after_seconds: environment.approval.expires_after / 1000
            }
          : null,
        backup_before_migrate: environment.backup_before_migrate,
        on_failure: environment.on_failure
      }))
    })
  )

  app.get('/environments/:name/status', {
    onRequest: app.requireRole(...READ_ROLES),
    schema: {
      operationId: 'getEnvironmentStatus',
      tags: ['environments'],
      summary: 'Applied, pending, failed and drifted migrations (like `prisma migrate status`)',
      params: environmentParams,
      response: { 200: statusSchema, 404: errorBodySchema, 503: errorBodySchema, ...authErrors }
    }
  }, async (request) => {
    assertMayActIn(principalOf(request), request.params.name)
    const { environment, status, schema } = await environmentStatus(config, env, request.params.name)
    const [lastDeployment] = await listDeployments(pool, { environment: environment.name, limit: 1 })
    const [lastBackup] = await listBackups(pool, environment.name, { limit: 1 })
    const lastSource = lastDeployment === undefined ? undefined : await deploymentSource(pool, lastDeployment.id)
    return {
      drift_watch: await driftWatchOf(pool, environment),
      environment: environment.name,
      migration_tool: environment.migration_tool,
      working_directory: environment.working_directory ?? null,
      schema,
      up_to_date: status.pending.length === 0 && status.failed.length === 0 && status.drifted.length === 0,
      history_table_exists: status.historyTableExists,
      applied: status.applied.map((m) => ({
        name: m.name,
        checksum: m.checksum,
        started_at: m.startedAt?.toISOString() ?? null,
        finished_at: m.finishedAt?.toISOString() ?? null
      })),
      pending: status.pending.map((m) => ({ name: m.name, checksum: m.checksum })),
      failed: status.failed.map((m) => ({
        name: m.name,
        started_at: m.startedAt?.toISOString() ?? null,
        logs: m.logs,
        resolve: `POST /environments/${environment.name}/migrations/${m.name}/resolve {"as":"applied"|"rolled_back"}`
      })),
      drifted: status.drifted.map((d) => ({ name: d.name, reason: d.reason, applied_checksum: d.appliedChecksum, source_checksum: d.sourceChecksum ?? null })),
      last_deployment: lastDeployment === undefined
        ? null
        : {
            id: lastDeployment.id,
            operation: lastDeployment.operation,
            status: lastDeployment.status,
            requested_by: lastDeployment.requested_by,
            created_at: lastDeployment.created_at.toISOString(),
            finished_at: lastDeployment.finished_at?.toISOString() ?? null,
            link: `/deployments/${lastDeployment.id}`,
            ...migrationsFrom(lastDeployment.operation, lastSource, environment.working_directory)
          },
      last_backup: lastBackup === undefined
        ? null
        : { id: lastBackup.id, created_at: lastBackup.created_at.toISOString(), size_bytes: lastBackup.size_bytes, restore_command: `migration-deployer restore --env ${environment.name} --backup ${lastBackup.id}` }
    }
  })

  app.get('/environments/:name/backups', {
    onRequest: app.requireRole(...READ_ROLES),
    schema: {
      operationId: 'listEnvironmentBackups',
      tags: ['environments'],
      summary: 'Backups taken before deployments to this environment, newest first',
      params: environmentParams,
      querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
      response: { 200: z.object({ environment: z.string(), backups: z.array(backupSchema) }), 400: errorBodySchema, 404: errorBodySchema, ...authErrors }
    }
  }, async (request) => {
    const environment = environmentOrThrow(config, request.params.name)
    assertMayActIn(principalOf(request), environment.name)
    const backups = await listBackups(pool, environment.name, { limit: request.query.limit })
    return {
      environment: environment.name,
      backups: backups.map((b) => ({
        id: b.id,
        deployment_id: b.deployment_id,
        provider: b.provider,
        size_bytes: b.size_bytes,
        duration_ms: b.duration_ms,
        verified: b.verified,
        server_version: b.server_version,
        schema: b.schema,
        created_at: b.created_at.toISOString()
      }))
    }
  })

  app.post('/environments/:name/migrations/:migration/resolve', {
    onRequest: app.requireRole('approver'),
    schema: {
      operationId: 'resolveMigration',
      tags: ['environments'],
      summary: 'Mark a failed migration applied or rolled back (like `prisma migrate resolve`)',
      params: environmentParams.extend({ migration: z.string().min(1).max(255) }),
      body: z.strictObject({ as: z.enum(['applied', 'rolled_back'], { error: 'as must be "applied" or "rolled_back"' }) }).meta({ example: { as: 'rolled_back' } }),
      response: { 200: z.object({ environment: z.string(), migration: z.string(), resolved_as: z.enum(['applied', 'rolled_back']), rows_changed: z.number().int() }), 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, ...authErrors }
    }
  }, async (request) => {
    const { name, migration } = request.params
    assertMayActIn(principalOf(request), name)
    const result = await resolveEnvironmentMigration(pool, config, env, principalOf(request), name, migration, request.body.as)
    return { environment: name, migration, resolved_as: request.body.as, rows_changed: result.rowsChanged }
  })
}

/** Where a deployment's migrations came from, for the status of its environment. */
function migrationsFrom (
  operation: string, source: DeploymentSource | undefined, configured: string | undefined
): { migrations_from: 'inline' | 'working_directory' | null, working_directory: string | null } {
  if (operation === 'restore-backup' || source === undefined) return { migrations_from: null, working_directory: null }
  if (source.inline) return { migrations_from: 'inline', working_directory: null }
  return { migrations_from: 'working_directory', working_directory: source.working_directory ?? configured ?? null }
}

export default environmentRoutes
