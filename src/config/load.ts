import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { ConfigError } from '../errors/config-error.js'
import type { OidcProviderConfig, SsoConfig } from './identity-schema.js'
import { rolloutSchema, type RolloutConfig } from './fleet-schema.js'
import { configSchema, type RehearsalConfig, type ApprovalConfig, type BackupConfig, type HealthCheckConfig, type RawConfig, type RawEnvironmentConfig, type TokenConfig } from './schema.js'

export type Mode = 'dev' | 'deploy'

/** One environment with every default resolved. */
export interface EnvironmentConfig extends Omit<RawEnvironmentConfig, 'approval' | 'backup' | 'health_check' | 'backup_before_migrate' | 'rehearsal' | 'rollout'> {
  name: string
  /** How a fleet (`targets`) rolls out; defaults when not given. */
  rollout: RolloutConfig
  mode: Mode
  approval: ApprovalConfig
  backup: BackupConfig
  backup_before_migrate: boolean
  health_check: HealthCheckConfig
  /** Preflight and rehearsal (SPEC §12); false when off. */
  rehearsal: RehearsalConfig | false
}

export interface Config {
  /** Absolute path; every working_directory must resolve inside it. */
  workspace_root: string
  environments: Record<string, EnvironmentConfig>
  tokens: TokenConfig[]
  /** Issuers whose OIDC tokens CI presents (SPEC §13). */
  oidc: OidcProviderConfig[]
  /** People's sign-in to the review page, when configured. */
  sso: SsoConfig | undefined
  limits: RawConfig['limits']
  notifications: RawConfig['notifications']
  /** Where the config was read from, for messages. */
  source: string
  /** The config file's folder: relative paths in it (backup.dir) resolve against it. */
  base_dir: string
}

/** Reads and validates the YAML config file, failing with every problem listed by path. */
export function loadConfigFile (file: string): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, [])
  }
  let document: unknown
  try {
    document = parseYaml(text)
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`, [])
  }
  return parseConfig(document, path.dirname(path.resolve(file)), file)
}

/** Validates a config object; relative paths resolve against `baseDir`. */
export function parseConfig (document: unknown, baseDir: string, source = '<inline>'): Config {
  const result = configSchema.safeParse(document ?? {})
  if (!result.success) {
    const problems = formatIssues(result.error.issues)
    throw new ConfigError(`invalid config ${source}:\n  ${problems.join('\n  ')}`, problems)
  }
  const raw = result.data
  // No prototype: a client-supplied name such as "__proto__" or "constructor" must find nothing.
  const environments: Record<string, EnvironmentConfig> = Object.create(null) as Record<string, EnvironmentConfig>
  for (const [name, env] of Object.entries(raw.environments)) {
    environments[name] = resolveEnvironment(name, env)
  }
  return {
    workspace_root: path.resolve(baseDir, raw.workspace_root),
    environments,
    tokens: raw.auth.tokens,
    oidc: raw.auth.oidc,
    sso: raw.auth.sso,
    limits: raw.limits,
    notifications: raw.notifications,
    source,
    base_dir: baseDir
  }
}

const DEFAULT_REHEARSAL: RehearsalConfig = {
  preflight: true, schema: true, copy_data_below: '0MB', timeout: 10 * 60_000, preflight_query_timeout: 30_000, on_prediction: 'fail'
}

function resolveEnvironment (name: string, env: RawEnvironmentConfig): EnvironmentConfig {
  const mode: Mode = env.mode ?? (name === 'dev' || name === 'test' ? 'dev' : 'deploy')
  return {
    ...env,
    name,
    mode,
    approval: env.approval ?? { required_approvals: 1, roles: ['approver', 'admin'], allow_self_approval: false, expires_after: 24 * 3_600_000, auto_approve_roles: [] },
    backup: env.backup ?? { provider: 'pg_dump', dir: '.data/backups', keep: 10 },
    backup_before_migrate: env.backup_before_migrate ?? env.protected,
    rollout: env.rollout ?? rolloutSchema.parse({}),
    // A command tool's status starts a Node process (about a second or two): give it more than 5s.
    rehearsal: env.rehearsal ?? (env.protected ? DEFAULT_REHEARSAL : false),
    health_check: env.health_check ?? { checks: ['connectivity', 'schema', 'migrations'], timeout: env.migration_tool === 'command' ? 60_000 : 5000, sql: [] }
  }
}

function formatIssues (issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)'
    // A bad record key comes wrapped ("Invalid key in record"); its own issues say what is wrong.
    const message = issue.code === 'invalid_key' && issue.issues.length > 0 ? issue.issues.map((inner) => inner.message).join('; ') : issue.message
    return `${where}: ${message}`
  })
}
