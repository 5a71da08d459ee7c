import type pg from 'pg'
import type { EnvironmentConfig } from '../../config/load.js'
import { connectTarget } from '../../lib/target-connection.js'
import { safeErrorMessage } from '../../lib/mask-secrets.js'
import { DeploymentFailure } from '../deployment-failure.js'
import type { DeploymentRecorder } from '../deployment-recorder.js'

/** The health-check detail this module adds (the shape of `HealthCheckDetail`). */
export interface TargetRoleDetail {
  check: 'target_role'
  passed: boolean
  message: string
}

interface RolePowers {
  name: string
  /** Superuser roles the target role is (or is a member of, so may SET ROLE to). */
  superuser: string[]
  createrole: string[]
  serverPrograms: boolean
  serverFiles: boolean
  otherDatabases: string[]
}

// pg_has_role(…, 'MEMBER'): the role itself or any role it belongs to (it may SET ROLE to those).
const POWERS_QUERY = `SELECT current_user AS name,
  ARRAY(SELECT r.rolname FROM pg_roles r
         WHERE r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER') ORDER BY r.rolname)::text[] AS superuser,
  ARRAY(SELECT r.rolname FROM pg_roles r
         WHERE r.rolcreaterole AND NOT r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER') ORDER BY r.rolname)::text[] AS createrole,
  pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') AS server_programs,
  pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') OR pg_has_role(current_user, 'pg_write_server_files', 'MEMBER') AS server_files,
  ARRAY(SELECT datname FROM pg_database WHERE datname <> current_database() AND NOT datistemplate ORDER BY datname LIMIT 6)::text[] AS other_databases`

interface PowersRow { name: string, superuser: string[], createrole: string[], server_programs: boolean, server_files: boolean, other_databases: string[] }

async function readPowers (client: pg.Client): Promise<RolePowers> {
  const row = (await client.query<PowersRow>(POWERS_QUERY)).rows[0]
  if (row === undefined) throw new Error('the role query returned no row')
  return {
    name: row.name,
    superuser: row.superuser,
    createrole: row.createrole,
    serverPrograms: row.server_programs,
    serverFiles: row.server_files,
    otherDatabases: row.other_databases
  }
}

/** What the role is, and what a migration running as it could reach; undefined for a role without such powers. */
function describePowers (powers: RolePowers): string | undefined {
  const role = `"${powers.name}"`
  const others = powers.otherDatabases.length === 0
    ? 'every other database on the server'
    : `every other database on the server (${powers.otherDatabases.slice(0, 5).join(', ')}${powers.otherDatabases.length > 5 ? ', …' : ''})`
  if (powers.superuser.length > 0) {
    const is = powers.superuser.includes(powers.name) ? `is a superuser` : `may SET ROLE to the superuser ${powers.superuser.map((r) => `"${r}"`).join(', ')}`
    return `the target role ${role} ${is}: a migration could run programs on the database server as its operating-system user (COPY … PROGRAM), ` +
      `read and write the server's files, change the server's settings, create roles, and reach ${others}`
  }
  const reach: string[] = []
  const what: string[] = []
  if (powers.createrole.length > 0) {
    const roles = powers.createrole.map((r) => `"${r}"`).join(', ')
    what.push(powers.createrole.includes(powers.name) ? 'has CREATEROLE' : `may SET ROLE to ${roles}, which has CREATEROLE`)
    reach.push('create roles and, on PostgreSQL 15 and older, grant them (or itself) pg_execute_server_program and the other predefined roles')
  }
  if (powers.serverPrograms) {
    what.push('is a member of pg_execute_server_program')
    reach.push(`run programs on the database server as its operating-system user (COPY … PROGRAM), and through them reach ${others}`)
  }
  if (powers.serverFiles) {
    what.push('is a member of pg_read_server_files or pg_write_server_files')
    reach.push('read or write any file the database server can (COPY … FROM/TO a file)')
  }
  return what.length === 0 ? undefined : `the target role ${role} ${what.join(' and ')}: a migration could ${reach.join('; ')}`
}

function fixFor (environment: EnvironmentConfig): string {
  return `Give ${environment.name} a role of its own that owns only its database, without SUPERUSER or CREATEROLE ` +
    '(README, Operations: "Target database roles")' +
    (environment.protected ? `, or set allow_superuser: true on environment ${environment.name} to accept the risk` : '')
}

/** Protected environments refuse a powerful target role, unless `allow_superuser: true`; every other case is a warning. */
function refuses (environment: EnvironmentConfig): boolean {
  return environment.protected && !environment.allow_superuser
}

/**
 * The pre-deployment health check's look at the target role (SPEC §15), on the health check's
 * connection: a superuser (or a role with CREATEROLE, or a member of pg_execute_server_program /
 * pg_read_server_files / pg_write_server_files) is a warning in every environment and a failure
 * in protected ones unless `allow_superuser: true`. Nothing to report: no detail.
 */
export async function inspectTargetRole (client: pg.Client, environment: EnvironmentConfig): Promise<TargetRoleDetail[]> {
  let description: string | undefined
  try {
    description = describePowers(await readPowers(client))
  } catch (error) {
    return [{ check: 'target_role', passed: !refuses(environment), message: `could not read the target role's attributes: ${safeErrorMessage(error)}` }]
  }
  if (description === undefined) return []
  const refused = refuses(environment)
  return [{ check: 'target_role', passed: !refused, message: `${refused ? '' : 'warning: '}${description}. ${fixFor(environment)}` }]
}

/** When the health check failed because of the target role: the report's error and suggestions for it. */
export function targetRoleFailure (
  environment: EnvironmentConfig,
  details: ReadonlyArray<{ check: string, passed: boolean, message: string }>
): { error: string, suggestions: string[] } | undefined {
  const refused = details.find((detail) => detail.check === 'target_role' && !detail.passed)
  if (refused === undefined) return undefined
  return {
    error: `Pre-deployment health check failed: ${environment.name} is protected and ${refused.message}`,
    suggestions: ['Nothing was applied', fixFor(environment)]
  }
}

/** Puts the target-role warnings of a passed health check in the human log, where a reviewer sees them. */
export async function logTargetRoleWarnings (recorder: DeploymentRecorder, details: ReadonlyArray<{ check: string, message: string }>): Promise<void> {
  for (const detail of details) {
    if (detail.check === 'target_role') await recorder.log(`⚠ ${detail.message}`, 'target_role_warning')
  }
}

/**
 * With `skip_health_check`, a protected environment still refuses a powerful target role (the
 * refusal is not the requester's to skip): a connection of its own, only when it could refuse.
 */
export async function refusePowerfulTargetRole (databaseUrl: string, environment: EnvironmentConfig): Promise<void> {
  if (!refuses(environment)) return
  const client = await connectTarget(databaseUrl, { applicationName: 'migration-deployer health', connectTimeoutMs: environment.health_check.timeout })
  let details: TargetRoleDetail[]
  try {
    details = await inspectTargetRole(client, environment)
  } finally {
    await client.end().catch(() => {})
  }
  const failure = targetRoleFailure(environment, details)
  if (failure !== undefined) throw new DeploymentFailure({ ...failure, extraResult: { health_check: 'failed', details } })
}
