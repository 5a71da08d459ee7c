import { z } from 'zod'
import { preflightCheckSchema, rehearsalSchema } from './plan-review.js'
import { BACKUP_ID_PATTERN } from '../backup/backup-id.js'
import { DEPLOYMENT_STATUSES, OPERATIONS, STEP_NAMES } from '../domain/index.js'
import { planRiskSchema } from './risk.js'
import { windowOverrideSchema } from './windows.js'
import { wellFormed } from './well-formed.js'

/** Prisma's folder naming: digits (a timestamp), an underscore, a name. */
/** A Prisma folder name (`<digits>_<name>`, also the sql handler's plain form) or a Flyway-style `V<version>__<name>` (sql handler). */
export const MIGRATION_NAME = /^(?:[0-9]+_|V[0-9]+(?:[._][0-9]+)*__)[A-Za-z0-9][A-Za-z0-9_.-]*$/

export const sourceInfoSchema = z.strictObject({
  commit: wellFormed(z.string().max(200)).optional(),
  ref: wellFormed(z.string().max(500)).optional(),
  url: wellFormed(z.string().max(2000)).optional()
}).meta({ description: 'Where the migrations come from, for reviewers', example: { commit: 'abc123', ref: 'main', url: 'https://ci.example/run/42' } })

export const inlineMigrationSchema = z.strictObject({
  name: z.string().max(255).regex(MIGRATION_NAME, 'expected a migration name like "20250124140000_add_user_profiles" (digits, "_", a name) or, for the sql handler, "V1_2__add_index"'),
  sql: wellFormed(z.string().max(10 * 1024 * 1024))
})

/** The flat form of POST /deployments. */
export const createDeploymentBody = z.strictObject({
  operation: z.enum(OPERATIONS).default('deploy-migrations'),
  // A function, not a string: a plain string would also be the message for a value of the wrong type.
  environment: wellFormed(z.string({
    error: (issue) => issue.input === undefined
      ? 'environment is required: the name of a configured environment, e.g. "staging"'
      : 'expected the name of a configured environment as a string, e.g. "staging"'
  }).min(1, 'environment must not be empty: the name of a configured environment, e.g. "staging"').max(100, 'environment names are at most 100 characters')),
  dry_run: z.boolean().default(false),
  skip_backup: z.boolean().default(false),
  skip_health_check: z.boolean().default(false),
  working_directory: wellFormed(z.string().min(1).max(1000)).optional()
    .meta({ description: 'Folder inside the workspace root holding the Prisma project or its migrations' }),
  migrations: z.array(inlineMigrationSchema).max(5000).optional().meta({ description: 'Inline migrations: exactly these bytes are planned, approved and applied' }),
  backup_id: z.string().regex(BACKUP_ID_PATTERN, 'expected a backup id like "backup-20250124-103000-1a2b" (see GET /environments/:name/backups)').optional()
    .meta({ description: 'With operation restore-backup: the backup to restore' }),
  source: sourceInfoSchema.optional()
}).superRefine((body, ctx) => {
  if (body.operation === 'restore-backup') {
    if (body.backup_id === undefined) ctx.addIssue({ code: 'custom', path: ['backup_id'], message: 'operation restore-backup needs backup_id (list them with GET /environments/:name/backups)' })
    if (body.migrations !== undefined || body.working_directory !== undefined) ctx.addIssue({ code: 'custom', path: ['operation'], message: 'a restore-backup deployment takes no migrations or working_directory' })
  } else if (body.backup_id !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['backup_id'], message: 'backup_id is only for operation restore-backup' })
  }
}).meta({
  id: 'CreateDeployment',
  description: 'The flat form. The envelope `{ "operation": …, "parameters": { … } }` is accepted too and means the same.',
  example: { operation: 'deploy-migrations', environment: 'staging', working_directory: 'app', source: { commit: 'abc123', ref: 'main' } }
})
export type CreateDeploymentBody = z.output<typeof createDeploymentBody>

const stepSchema = z.object({
  name: z.enum(STEP_NAMES),
  status: z.enum(['pending', 'running', 'passed', 'failed', 'skipped']),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  detail: z.string().nullable()
})

const plannedMigrationSchema = z.object({
  name: z.string(),
  checksum: z.string(),
  sql: z.string(),
  transactional: z.boolean(),
  warnings: z.array(z.object({ rule: z.string(), message: z.string() })),
  estimated_duration_seconds: z.number(),
  estimate_basis: z.string().meta({ example: 'measured in staging' })
})

const planGroupSchema = z.object({
  targets: z.array(z.string()),
  target_count: z.number().int(),
  applied_migrations: z.number().int().meta({ description: 'How many migrations the group\'s history holds already' }),
  checksum: z.string(),
  pending_migrations: z.number().int(),
  migrations: z.array(plannedMigrationSchema)
}).meta({ id: 'PlanGroup' })

export const planSchema = z.object({
  checksum: z.string().meta({ example: 'sha256:9f2c…' }),
  pending_migrations: z.number().int(),
  migrations: z.array(plannedMigrationSchema),
  restore: z.object({
    backup_id: z.string(),
    backup_created_at: z.string(),
    backup_age_seconds: z.number(),
    backup_size_bytes: z.number().nullable(),
    unapplies: z.array(z.object({ name: z.string(), checksum: z.string() })),
    reapplies: z.array(z.object({ name: z.string(), checksum: z.string() }))
  }).optional().meta({ description: 'For restore-backup: the backup, its age and size, and the migrations the restore un-applies' }),
  groups: z.array(planGroupSchema).optional().meta({ description: 'A fleet (SPEC §14): one group per distinct history state of its targets; one approval covers them all' }),
  promotion_gate: z.object({
    requires_success_in: z.array(z.string()),
    passed: z.boolean(),
    missing: z.record(z.string(), z.array(z.string())).meta({ description: 'Per required environment, the planned migrations not yet applied there' }),
    message: z.string().meta({ example: 'all 2 pending migrations were applied in staging first' })
  }).optional().meta({ description: 'For an environment with requires_success_in: the promotion gate\'s result when the plan was made' }),
  preflight: z.array(preflightCheckSchema).optional().meta({ description: 'What the pending statements would fail on among the target\'s rows (counts only)' }),
  rehearsal: rehearsalSchema.optional(),
  pending_checksum: z.string().optional().meta({ description: 'The checksum of the pending set alone, when `checksum` also covers preflight and rehearsal' }),
  risk: planRiskSchema.optional()
}).meta({ id: 'Plan', description: 'What will be applied, frozen by its checksum: approvals are bound to it' })

export const fleetSummarySchema = z.object({
  total: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  running: z.number().int(),
  pending: z.number().int()
}).meta({ id: 'FleetSummary' })

export const deploymentSchema = z.object({
  id: z.string(),
  operation: z.enum(OPERATIONS),
  environment: z.string(),
  mode: z.enum(['dev', 'deploy']),
  status: z.enum(DEPLOYMENT_STATUSES),
  requested_by: z.string(),
  dry_run: z.boolean(),
  skip_backup: z.boolean(),
  skip_health_check: z.boolean(),
  working_directory: z.string().nullable(),
  backup_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  next_window_at: z.string().nullable().meta({ description: 'While waiting_for_window: when the environment\'s window opens and the deployment starts by itself' }),
  window_override: windowOverrideSchema.nullable(),
  source: sourceInfoSchema.nullable(),
  plan: planSchema.nullable(),
  approval: z.object({
    required: z.number().int(),
    approvals: z.array(z.object({ by: z.string(), at: z.string(), comment: z.string().nullable(), plan_checksum: z.string() })),
    expires_at: z.string().nullable()
  }).nullable(),
  steps: z.array(stepSchema),
  report: z.record(z.string(), z.unknown()).nullable().meta({ description: 'The seed\'s report shapes (SPEC §6) once the deployment ends' }),
  summary: fleetSummarySchema.optional().meta({ description: 'A fleet deployment (SPEC §14): its targets by status' }),
  retry_of: z.string().optional().meta({ description: 'The fleet deployment this one retries (POST /deployments/:id/retry)' }),
  links: z.object({
    self: z.string(), approve: z.string(), reject: z.string(), cancel: z.string(), log: z.string(), events: z.string(), targets: z.string().optional()
  })
}).meta({ id: 'Deployment' })
export type DeploymentResource = z.output<typeof deploymentSchema>

export const deploymentSummarySchema = deploymentSchema.omit({ plan: true, steps: true, approval: true }).meta({ id: 'DeploymentSummary' })

export const deploymentListSchema = z.object({
  deployments: z.array(deploymentSummarySchema),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page' })
}).meta({ id: 'DeploymentList' })

export const listDeploymentsQuery = z.strictObject({
  environment: wellFormed(z.string().max(100)).optional(),
  status: z.enum(DEPLOYMENT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: wellFormed(z.string().max(200)).optional()
})

export const approveBody = z.strictObject({
  comment: wellFormed(z.string().max(2000)).optional()
}).meta({ example: { comment: 'Reviewed the SQL, LGTM' } })

export const rejectBody = z.strictObject({
  reason: wellFormed(z.string({
    error: (issue) => issue.input === undefined
      ? 'reason is required: say why the deployment is rejected'
      : 'expected reason as a string: say why the deployment is rejected'
  }).min(1, 'reason must not be empty').max(2000))
}).meta({ example: { reason: 'Drops a column the app still reads' } })
