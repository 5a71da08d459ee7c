import { z } from 'zod'
import { ESCAPE_CATEGORY_NAMES, ROLES, SYSTEM_ACTOR, type EscapeCategory } from '../domain/index.js'
import { nonPublicHostReason } from '../lib/public-address.js'
import { durationMs } from './duration.js'
import { rolloutSchema, targetsSchema } from './fleet-schema.js'
import { checkIdentityReferences, identitySchemas } from './identity-schema.js'
import { riskPolicyFields } from './policy-schema.js'
import { roleName } from './role-name.js'
import { windowsSchema } from './windows-schema.js'
import { driftCheckSchema } from './drift-schema.js'

const positiveInt = z.number({ error: 'expected a positive integer' }).int('expected a positive integer').positive('expected a positive integer')

const approvalSchema = z.strictObject({
  required_approvals: positiveInt.default(1),
  roles: z.array(roleName).nonempty().default(['approver', 'admin']),
  approvers: z.array(z.string().min(1)).optional(),
  allow_self_approval: z.boolean().default(false),
  expires_after: durationMs.default(24 * 3_600_000),
  /**
   * Roles whose deployments are approved on creation ("unless auto-approved"). Never the default,
   * never for a restore; recorded in the audit trail with the rule that granted it.
   */
  auto_approve_roles: z.array(roleName).default([])
})

const backupSchema = z.strictObject({
  provider: z.enum(['pg_dump', 'command', 'none']).default('pg_dump'),
  dir: z.string().min(1).default('.data/backups'),
  keep: positiveInt.default(10),
  command: z.array(z.string()).optional(),
  pg_dump_path: z.string().optional(),
  pg_restore_path: z.string().optional()
})

const healthCheckSchema = z.strictObject({
  checks: z.array(z.enum(['connectivity', 'schema', 'migrations'])).default(['connectivity', 'schema', 'migrations']),
  timeout: durationMs.default(5000),
  sql: z.array(z.strictObject({ name: z.string().min(1), query: z.string().min(1) })).default([])
})

export const DEFAULT_LINT_EXCLUDE = [
  'require-lock-timeout', 'require-statement-timeout', 'prefer-robust-stmts',
  'prefer-bigint-over-int', 'prefer-bigint-over-smallint', 'prefer-identity', 'prefer-text-field', 'prefer-timestamp-tz'
]

const lintSchema = z.strictObject({
  /** Run squawk on every planned migration (warnings go into the plan). */
  enabled: z.boolean().default(true),
  /** Rules whose warnings block the plan instead of only being shown. */
  block_on: z.array(z.string().min(1)).default([]),
  /**
   * Rules not reported at all. The default leaves out rules that fire on nearly every
   * Prisma-generated file without pointing at a risk: timeouts (the deployer sets lock_timeout and
   * statement_timeout itself), idempotence (each migration runs once, in a transaction) and type
   * preferences. Setting `exclude` replaces this list.
   */
  exclude: z.array(z.string().min(1)).default(DEFAULT_LINT_EXCLUDE)
})

/** `rehearsal:` (SPEC §12): preflight counts on the target and a rehearsal on a scratch copy, before approval. */
const rehearsalSchema = z.strictObject({
  /** Count, on the live target and read-only, the rows each pending statement would fail on. */
  preflight: z.boolean().default(true),
  /** Apply the plan to a scratch copy of the target's schema and record durations, locks, rewrites and the schema diff. */
  schema: z.boolean().default(true),
  /** Also copy the data of tables smaller than this (`0MB`: schema only). */
  copy_data_below: z.string().regex(/^\d+(\.\d+)?\s*(B|kB|KB|MB|GB)$/, 'expected a size like "0MB", "500kB" or "2GB"').default('0MB'),
  /**
   * The variable naming a database URL whose role may create databases (CREATEDB): scratch databases
   * are created on its server. Default: the target's own URL, when its role may create databases.
   */
  database_url_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the NAME of an environment variable (like REHEARSAL_DATABASE_URL), not a URL').optional(),
  /** The whole rehearsal's bound (restore, apply, diff). */
  timeout: durationMs.default(10 * 60_000),
  /** Each preflight count query's own statement_timeout: a slower count is reported `timed_out`. */
  preflight_query_timeout: durationMs.default(30_000),
  /** `fail`: a predicted failure fails the deployment before approval. `warn`: it goes to the approver, flagged. */
  on_prediction: z.enum(['fail', 'warn']).default('fail')
})

/**
 * `rehearsal: false`, or its settings. Not a z.union: a union reports a bad setting only as
 * "Invalid input", where this names each field that is wrong.
 */
const rehearsalSetting = z.unknown().transform((value, ctx): z.output<typeof rehearsalSchema> | false | undefined => {
  if (value === undefined || value === false) return value
  const parsed = rehearsalSchema.safeParse(value)
  if (parsed.success) return parsed.data
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message })
  return z.NEVER
})

/** `policy:` — what migrations to this environment may do (SPEC §15). */
const policySchema = z.strictObject({
  /**
   * Statements that reach beyond the database (COPY … PROGRAM, lo_import, dblink, untrusted
   * languages, …) are refused in every environment unless their category is listed here.
   */
  allow_statements: z.array(z.string().transform((name) => name.trim().replace(/\s+/g, ' ').toUpperCase())
    .pipe(z.enum(ESCAPE_CATEGORY_NAMES as [EscapeCategory, ...EscapeCategory[]], { error: `expected one of: ${ESCAPE_CATEGORY_NAMES.join(', ')}` })))
    .default([]),
  /** Risk rules over the parsed statements and squawk's findings, and the approvals each risk needs. */
  ...riskPolicyFields
})

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/
const envName = z.string().regex(ENV_NAME, 'expected the NAME of an environment variable (like DATABASE_URL)')

export const MIGRATION_TOOLS = ['prisma', 'sql', 'command'] as const
export const COMMAND_PRESETS = ['typeorm', 'sequelize', 'prisma'] as const

const argvSchema = z.array(z.string().min(1, 'an empty argument'), { error: 'expected the program and its arguments as a list, like [typeorm, migration:run, -d, data-source.js]' })
  .nonempty('expected the program and its arguments as a list, like [typeorm, migration:run, -d, data-source.js]')

/** `sql:` — options of the sql handler. */
const sqlToolSchema = z.strictObject({
  /** The history table, in the connection's search path. */
  history_table: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lowercase table name (letters, digits, _)').default('migration_deployer_history')
})

/** `command:` — an external migration tool run with execa, without a shell. */
const commandToolSchema = z.strictObject({
  /** typeorm | sequelize | prisma: fills status, apply, status_format and migrations_dir. */
  preset: z.enum(COMMAND_PRESETS, { error: 'expected "typeorm", "sequelize" or "prisma" (or leave preset out and give status, apply and status_format)' }).optional(),
  /** Lists applied and pending migrations (e.g. [typeorm, migration:show, -d, data-source.js]). */
  status: argvSchema.optional(),
  /** Applies every pending migration (e.g. [sequelize-cli, db:migrate]). */
  apply: argvSchema.optional(),
  /** Optional: shows what apply would do; its output goes into the plan's log. */
  preview: argvSchema.optional(),
  /** How to read the status output: a preset's format, or `patterns` with status_patterns. */
  status_format: z.enum([...COMMAND_PRESETS, 'patterns'], { error: 'expected "typeorm", "sequelize", "prisma" or "patterns"' }).optional(),
  /** For status_format patterns: regular expressions with a (?<name>…) group, matched per line. */
  status_patterns: z.strictObject({ applied: z.string().min(1), pending: z.string().min(1) }).optional(),
  /** The variable the tool reads the target's URL from (the URL is never put in argv). */
  url_env: envName.default('DATABASE_URL'),
  /** Where the tool's migration files are, relative to working_directory, to show them to reviewers. */
  migrations_dir: z.string().min(1).optional(),
  /** typeorm preset: the DataSource file passed as -d. */
  data_source: z.string().min(1).optional(),
  /** Literal variables for the tool (never secrets: this file is not a secret store). */
  env: z.record(envName, z.string()).default({}),
  /** Variables of the worker's own environment passed through to the tool by name. */
  pass_env: z.array(envName).default([]),
  /** Kills apply after this long. */
  timeout: durationMs.default(30 * 60_000),
  /** Kills status and preview after this long. */
  status_timeout: durationMs.default(2 * 60_000)
}).superRefine((command, ctx) => {
  if (command.preset === undefined) {
    for (const key of ['status', 'apply', 'status_format'] as const) {
      if (command[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `required without a preset: give ${key}, or preset: typeorm | sequelize | prisma` })
    }
  }
  if (command.status_format === 'patterns' && command.status_patterns === undefined) ctx.addIssue({ code: 'custom', path: ['status_patterns'], message: 'status_format patterns needs status_patterns: { applied: <regex>, pending: <regex> }, each with a (?<name>…) group' })
  for (const key of ['applied', 'pending'] as const) {
    const source = command.status_patterns?.[key]
    if (source === undefined) continue
    try {
      if (!new RegExp(source).source.includes('(?<name>')) ctx.addIssue({ code: 'custom', path: ['status_patterns', key], message: 'needs a (?<name>…) group that captures the migration name' })
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['status_patterns', key], message: `not a valid regular expression: ${(error as Error).message}` })
    }
  }
  if (command.data_source !== undefined && command.preset !== 'typeorm') ctx.addIssue({ code: 'custom', path: ['data_source'], message: 'data_source is for preset: typeorm only' })
  if (Object.keys(command.env).includes(command.url_env)) ctx.addIssue({ code: 'custom', path: ['env', command.url_env], message: `${command.url_env} carries the target's URL (url_env): it is set by the deployer, never in config` })
})

const environmentSchema = z.strictObject({
  /** One database; a fleet names `targets` instead (SPEC §14). */
  database_url_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the NAME of an environment variable (like PROD_DATABASE_URL), not a URL').optional(),
  targets: targetsSchema.optional(),
  rollout: rolloutSchema.optional(),
  migration_tool: z.enum(MIGRATION_TOOLS, { error: 'expected "prisma", "sql" or "command"' }).default('prisma'),
  /** Options of migration_tool: sql. */
  sql: sqlToolSchema.optional(),
  /** The tool of migration_tool: command (required then). */
  command: commandToolSchema.optional(),
  working_directory: z.string().optional(),
  mode: z.enum(['dev', 'deploy']).optional(),
  protected: z.boolean().default(false),
  requires_success_in: z.array(z.string()).default([]),
  backup_before_migrate: z.boolean().optional(),
  backup: backupSchema.optional(),
  on_failure: z.enum(['restore_backup', 'none']).default('none'),
  approval: approvalSchema.optional(),
  health_check: healthCheckSchema.optional(),
  lock_timeout: durationMs.default(10_000),
  statement_timeout: durationMs.default(0),
  /** How long an apply waits for another deployment (or a Prisma CLI) holding the migration lock. */
  migration_lock_wait: durationMs.default(10 * 60_000),
  /** dev mode only: a drifted database is reset and every migration reapplied. */
  reset_on_drift: z.boolean().default(false),
  lint: lintSchema.default({ enabled: true, block_on: [], exclude: DEFAULT_LINT_EXCLUDE }),
  /**
   * A protected environment refuses to deploy when its target role is a superuser (or has
   * CREATEROLE, or may run server programs or read/write server files), unless this is set.
   */
  allow_superuser: z.boolean().default(false),
  policy: policySchema.default({ allow_statements: [], rules: [], approvals_by_risk: {} }),
  /** Preflight and rehearsal; on by default for protected environments, `false` turns them off. */
  rehearsal: rehearsalSetting.optional(),
  /** When deployments may start (SPEC §15). */
  windows: windowsSchema.optional(),
  /** The drift watch (SPEC §15). */
  drift_check: driftCheckSchema.optional()
})

/**
 * Requests per token (per address without a valid token) in a window, shared by every API process
 * through Redis. The default leaves room for a few CI jobs polling one token every second.
 */
const DEFAULT_RATE_LIMIT = { max: 600, window: 60_000 }
const rateLimitSchema = z.strictObject({
  max: positiveInt.default(DEFAULT_RATE_LIMIT.max),
  window: durationMs.default(DEFAULT_RATE_LIMIT.window)
})

const tokenSchema = z.strictObject({
  name: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the lowercase sha256 hex of the token (64 characters), never the token itself'),
  roles: z.array(roleName).nonempty()
})

/** The moments of a deployment a webhook can subscribe to. */
export const DEPLOYMENT_WEBHOOK_EVENTS = ['pending_approval', 'succeeded', 'failed', 'rejected', 'expired', 'cancelled', 'waiting_for_window', 'window.overridden'] as const
export type DeploymentWebhookEvent = typeof DEPLOYMENT_WEBHOOK_EVENTS[number]
/** The moments of an environment (the drift watch, SPEC §15): their payload names the environment, not a deployment. */
export const ENVIRONMENT_WEBHOOK_EVENTS = ['drift.detected', 'drift.resolved'] as const
export type EnvironmentWebhookEvent = typeof ENVIRONMENT_WEBHOOK_EVENTS[number]
/** Every moment a webhook can subscribe to. */
export const WEBHOOK_EVENTS = [...DEPLOYMENT_WEBHOOK_EVENTS, ...ENVIRONMENT_WEBHOOK_EVENTS] as const
export type WebhookEvent = typeof WEBHOOK_EVENTS[number]

const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** The moments this webhook hears about (the drift watch's `drift.detected` / `drift.resolved` only when listed). */
  events: z.array(z.enum(WEBHOOK_EVENTS)).nonempty().default(['pending_approval', 'succeeded', 'failed', 'rejected', 'expired', 'window.overridden']),
  /** Also dry runs (previews): off by default, since a CI previewing every commit would flood the receiver. */
  previews: z.boolean().default(false),
  /** The NAME of the environment variable holding the HMAC-SHA256 signing secret. */
  secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the NAME of an environment variable (like DEPLOYER_WEBHOOK_SECRET), not the secret'),
  /** Only deployments to these environments (default: all). */
  environments: z.array(z.string().min(1)).optional(),
  /**
   * Allow a URL whose host is (or resolves to) a loopback, private or link-local address. Off by
   * default: the service would otherwise POST, from inside the network, wherever its config points
   * (a cloud metadata service at 169.254.169.254, an admin port on localhost). Checked when the
   * config loads (IP literals, localhost) and again at each delivery, on the address it connects to.
   */
  allow_private_addresses: z.boolean().default(false)
}).superRefine((webhook, ctx) => {
  if (webhook.allow_private_addresses) return
  const reason = nonPublicHostReason(new URL(webhook.url).hostname)
  if (reason === undefined) return
  ctx.addIssue({ code: 'custom', path: ['url'], message: `${new URL(webhook.url).hostname} is ${reason}: webhooks may not call loopback, private or link-local addresses unless the webhook sets allow_private_addresses: true` })
})

/** 30 days: dispatched webhook outbox rows are pruned after this by default. */
export const OUTBOX_RETENTION_MS = 30 * 86_400_000

const notificationsSchema = z.strictObject({
  /** The API's public base URL, for the links in webhook payloads (https://deployer.example.com). */
  public_url: z.url({ protocol: /^https?$/, error: 'expected the http(s) base URL of the API' }).optional(),
  webhooks: z.array(webhookSchema).default([]),
  retry: z.strictObject({
    attempts: positiveInt.default(8),
    /** The first retry's delay; each next one doubles. */
    initial_delay: durationMs.default(2000)
  }).default({ attempts: 8, initial_delay: 2000 }),
  /** How long one delivery may take before it counts as failed. */
  timeout: durationMs.default(10_000),
  /** How long a dispatched outbox row is kept (the audit trail is kept forever regardless). */
  outbox_retention: durationMs.default(OUTBOX_RETENTION_MS)
})

/**
 * What one request or one migration may cost (issue 17). Statements and parse time bound the work
 * a plan hands the parser; JSON depth is checked on the raw body before it is parsed; queued work
 * per token keeps one token from filling the queue ahead of everyone else.
 */
const DEFAULT_LIMITS = {
  body_bytes: 5 * 1024 * 1024,
  rate_limit: DEFAULT_RATE_LIMIT,
  max_statements_per_migration: 10_000,
  parse_timeout: 30_000,
  json_depth: 32,
  queued_per_token: 20
}
const limitsSchema = z.strictObject({
  body_bytes: positiveInt.default(DEFAULT_LIMITS.body_bytes),
  rate_limit: rateLimitSchema.default(DEFAULT_RATE_LIMIT),
  /** More statements in one migration: 422 for inline uploads, a failed plan for folders. */
  max_statements_per_migration: positiveInt.default(DEFAULT_LIMITS.max_statements_per_migration),
  /** Parsing one migration for longer than this stops the parse and fails the plan. */
  parse_timeout: durationMs.default(DEFAULT_LIMITS.parse_timeout),
  /** Arrays and objects nested deeper than this in a request body: 400 before the body is parsed. */
  json_depth: positiveInt.default(DEFAULT_LIMITS.json_depth),
  /** Deployments one token may have queued or running at once; past it, 429 until some finish. */
  queued_per_token: positiveInt.default(DEFAULT_LIMITS.queued_per_token)
})

// auth.oidc (CI tokens) and auth.sso (people), SPEC §13.
const identity = identitySchemas(z.enum(ROLES))

export const configSchema = z
  .strictObject({
    workspace_root: z.string().min(1).default('.'),
    environments: z
      .record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'environment names are lowercase letters, digits, - and _'), environmentSchema)
      .refine((envs) => Object.keys(envs).length > 0, 'define at least one environment'),
    auth: z.strictObject({ tokens: z.array(tokenSchema).default([]), oidc: identity.oidc, sso: identity.sso }).default({ tokens: [], oidc: [] }),
    limits: limitsSchema.default(DEFAULT_LIMITS),
    notifications: notificationsSchema.default({
      webhooks: [],
      retry: { attempts: 8, initial_delay: 2000 },
      timeout: 10_000,
      outbox_retention: OUTBOX_RETENTION_MS
    })
  })
  .superRefine(
    (config, ctx) => {
      // Read defensively: with `when` below this also runs when other fields are invalid, so that one
      // pass reports every problem (zod skips refinements on a value with issues by default).
      const raw = config as unknown as Record<string, unknown>
      const environments = isRecord(raw.environments) ? raw.environments : {}
      const names = Object.keys(environments)
      for (const [name, env] of Object.entries(environments)) {
        if (isRecord(env) && env.reset_on_drift === true) {
          const mode = env.mode ?? (name === 'dev' || name === 'test' ? 'dev' : 'deploy')
          if (mode !== 'dev') {
            ctx.addIssue({
              code: 'custom',
              path: ['environments', name, 'reset_on_drift'],
              message: 'reset_on_drift is allowed only in dev mode (environments named dev or test, or mode: dev): deploy mode never resets a database'
            })
          }
        }
        if (isRecord(env)) checkToolOptions(name, env, ctx)
        if (isRecord(env) && (env.database_url_env === undefined) === (env.targets === undefined)) {
          ctx.addIssue({ code: 'custom', path: ['environments', name], message: 'give either database_url_env (one database) or targets (a fleet, SPEC §14), not both or neither' })
        }
        const required = isRecord(env) && Array.isArray(env.requires_success_in) ? env.requires_success_in : []
        for (const requiredName of required) {
          if (typeof requiredName === 'string' && !names.includes(requiredName)) {
            ctx.addIssue({
              code: 'custom',
              path: ['environments', name, 'requires_success_in'],
              message: `unknown environment "${requiredName}" (known: ${names.join(', ')})`
            })
          }
        }
      }
      const tokens = isRecord(raw.auth) && Array.isArray(raw.auth.tokens) ? raw.auth.tokens : []
      const tokenNames = new Set<string>()
      const customRoles = customRolesNamed(environments)
      tokens.forEach((token: unknown, index) => {
        if (!isRecord(token) || typeof token.name !== 'string') return
        checkCustomRoles(token.roles, customRoles, ['auth', 'tokens', index, 'roles'], ctx)
        if (tokenNames.has(token.name)) { ctx.addIssue({ code: 'custom', path: ['auth', 'tokens', index, 'name'], message: `duplicate token name "${token.name}"` }) }
        if (token.name === SYSTEM_ACTOR) {
          ctx.addIssue({
            code: 'custom',
            path: ['auth', 'tokens', index, 'name'],
            message: `"${SYSTEM_ACTOR}" is reserved for the service's own audit events; choose another token name`
          })
        }
        tokenNames.add(token.name)
      })
      if (isRecord(raw.auth)) checkIdentityReferences(raw.auth, names, ctx)
    },
    { when: (payload) => isRecord(payload.value) }
  )

/** `command:` goes with migration_tool command (and is required there), `sql:` with migration_tool sql. */
function checkToolOptions (name: string, env: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const tool = env.migration_tool ?? 'prisma'
  if (tool === 'command' && env.command === undefined) ctx.addIssue({ code: 'custom', path: ['environments', name, 'command'], message: 'migration_tool command needs command: { preset: typeorm | sequelize | prisma } or command: { status, apply, status_format }' })
  if (tool !== 'command' && env.command !== undefined) ctx.addIssue({ code: 'custom', path: ['environments', name, 'command'], message: `command is only for migration_tool: command (this environment uses ${String(tool)})` })
  if (tool !== 'sql' && env.sql !== undefined) ctx.addIssue({ code: 'custom', path: ['environments', name, 'sql'], message: `sql is only for migration_tool: sql (this environment uses ${String(tool)})` })
}

/** The roles beyond the built-in ones that some environment requires (approval.roles, policy.approvals_by_risk). */
function customRolesNamed (environments: Record<string, unknown>): Set<string> {
  const named = new Set<string>()
  const add = (roles: unknown): void => { if (Array.isArray(roles)) for (const role of roles) if (typeof role === 'string') named.add(role) }
  for (const env of Object.values(environments)) {
    if (!isRecord(env)) continue
    if (isRecord(env.approval)) add(env.approval.roles)
    const byRisk = isRecord(env.policy) && isRecord(env.policy.approvals_by_risk) ? env.policy.approvals_by_risk : {}
    for (const raise of Object.values(byRisk)) if (isRecord(raise)) add(raise.roles)
  }
  return named
}

/** A token's custom role must be one an environment requires: a typo ("aprover") must not pass as a role that grants nothing. */
function checkCustomRoles (roles: unknown, named: Set<string>, path: Array<string | number>, ctx: z.RefinementCtx): void {
  if (!Array.isArray(roles)) return
  roles.forEach((role: unknown, index) => {
    if (typeof role !== 'string' || (ROLES as readonly string[]).includes(role) || named.has(role)) return
    ctx.addIssue({
      code: 'custom',
      path: [...path, index],
      message: `unknown role "${role}": expected ${ROLES.join(', ')}, or a custom role that an environment's approval.roles or policy.approvals_by_risk names`
    })
  })
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export type RawConfig = z.output<typeof configSchema>
export type RawEnvironmentConfig = z.output<typeof environmentSchema>
export type ApprovalConfig = z.output<typeof approvalSchema>
export type BackupConfig = z.output<typeof backupSchema>
export type HealthCheckConfig = z.output<typeof healthCheckSchema>
export type TokenConfig = z.output<typeof tokenSchema>
export type NotificationsConfig = z.output<typeof notificationsSchema>
export type WebhookConfig = z.output<typeof webhookSchema>
export type LintConfig = z.output<typeof lintSchema>
export type CommandToolConfig = z.output<typeof commandToolSchema>
export type SqlToolConfig = z.output<typeof sqlToolSchema>
export type RehearsalConfig = z.output<typeof rehearsalSchema>
export type { FleetTargetsConfig, RolloutConfig } from './fleet-schema.js'
export type PolicyConfig = z.output<typeof policySchema>
