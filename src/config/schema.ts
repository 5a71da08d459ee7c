import { z } from 'zod'
import { SYSTEM_ACTOR } from '../auth/principal.js'
import { durationMs } from './duration.js'

export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const
export type Role = typeof ROLES[number]

const positiveInt = z.number({ error: 'expected a positive integer' }).int('expected a positive integer').positive('expected a positive integer')

const approvalSchema = z.strictObject({
  required_approvals: positiveInt.default(1),
  roles: z.array(z.enum(ROLES)).nonempty().default(['approver', 'admin']),
  approvers: z.array(z.string().min(1)).optional(),
  allow_self_approval: z.boolean().default(false),
  expires_after: durationMs.default(24 * 3_600_000)
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

const environmentSchema = z.strictObject({
  database_url_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the NAME of an environment variable (like PROD_DATABASE_URL), not a URL'),
  migration_tool: z.enum(['prisma'], { error: 'expected "prisma" (the only migration tool this version supports)' }).default('prisma'),
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
  lint: lintSchema.default({ enabled: true, block_on: [], exclude: DEFAULT_LINT_EXCLUDE })
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
  roles: z.array(z.enum(ROLES)).nonempty()
})

/** The deployment moments a webhook can subscribe to. */
export const WEBHOOK_EVENTS = ['pending_approval', 'succeeded', 'failed', 'rejected', 'expired', 'cancelled'] as const
export type WebhookEvent = typeof WEBHOOK_EVENTS[number]

const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  events: z.array(z.enum(WEBHOOK_EVENTS)).nonempty().default(['pending_approval', 'succeeded', 'failed', 'rejected', 'expired']),
  /** The NAME of the environment variable holding the HMAC-SHA256 signing secret. */
  secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the NAME of an environment variable (like DEPLOYER_WEBHOOK_SECRET), not the secret'),
  /** Only deployments to these environments (default: all). */
  environments: z.array(z.string().min(1)).optional()
})

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
  timeout: durationMs.default(10_000)
})

export const configSchema = z.strictObject({
  workspace_root: z.string().min(1).default('.'),
  environments: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'environment names are lowercase letters, digits, - and _'), environmentSchema)
    .refine((envs) => Object.keys(envs).length > 0, 'define at least one environment'),
  auth: z.strictObject({ tokens: z.array(tokenSchema).default([]) }).default({ tokens: [] }),
  limits: z.strictObject({
    body_bytes: positiveInt.default(5 * 1024 * 1024),
    rate_limit: rateLimitSchema.default(DEFAULT_RATE_LIMIT)
  }).default({ body_bytes: 5 * 1024 * 1024, rate_limit: DEFAULT_RATE_LIMIT }),
  notifications: notificationsSchema.default({ webhooks: [], retry: { attempts: 8, initial_delay: 2000 }, timeout: 10_000 })
}).superRefine((config, ctx) => {
  // Read defensively: with `when` below this also runs when other fields are invalid, so that one
  // pass reports every problem (zod skips refinements on a value with issues by default).
  const raw = config as unknown as Record<string, unknown>
  const environments = isRecord(raw.environments) ? raw.environments : {}
  const names = Object.keys(environments)
  for (const [name, env] of Object.entries(environments)) {
    if (isRecord(env) && env.reset_on_drift === true) {
      const mode = env.mode ?? (name === 'dev' || name === 'test' ? 'dev' : 'deploy')
      if (mode !== 'dev') ctx.addIssue({ code: 'custom', path: ['environments', name, 'reset_on_drift'], message: 'reset_on_drift is allowed only in dev mode (environments named dev or test, or mode: dev): deploy mode never resets a database' })
    }
    const required = isRecord(env) && Array.isArray(env.requires_success_in) ? env.requires_success_in : []
    for (const requiredName of required) {
      if (typeof requiredName === 'string' && !names.includes(requiredName)) {
        ctx.addIssue({ code: 'custom', path: ['environments', name, 'requires_success_in'], message: `unknown environment "${requiredName}" (known: ${names.join(', ')})` })
      }
    }
  }
  const tokens = isRecord(raw.auth) && Array.isArray(raw.auth.tokens) ? raw.auth.tokens : []
  const tokenNames = new Set<string>()
  tokens.forEach((token: unknown, index) => {
    if (!isRecord(token) || typeof token.name !== 'string') return
    if (tokenNames.has(token.name)) ctx.addIssue({ code: 'custom', path: ['auth', 'tokens', index, 'name'], message: `duplicate token name "${token.name}"` })
    if (token.name === SYSTEM_ACTOR) ctx.addIssue({ code: 'custom', path: ['auth', 'tokens', index, 'name'], message: `"${SYSTEM_ACTOR}" is reserved for the service's own audit events; choose another token name` })
    tokenNames.add(token.name)
  })
}, { when: (payload) => isRecord(payload.value) })

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
