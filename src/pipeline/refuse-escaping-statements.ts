import { allowStatementsHint, describeRefused, refusedStatements, type SqlAnalysis } from '../analysis/index.js'
import type { EnvironmentConfig } from '../config/load.js'
import type { MigrationFile } from '../handlers/types.js'
import { DeploymentFailure } from './deployment-failure.js'

/**
 * Fails the plan, before anything runs or anyone approves, when a pending migration holds a
 * statement that reaches beyond its database (`COPY … PROGRAM`, a server file, `ALTER SYSTEM`,
 * a superuser role, `lo_import`/`lo_export`, dblink/postgres_fdw, an untrusted language, …)
 * whose category the environment's `policy.allow_statements` does not list. Every environment,
 * protected or not: an unprotected one shares its server with the others. `analyses[i]` is the
 * analysis of `pending[i]` (undefined for files not parsed as SQL).
 */
export function refuseEscapingStatements (
  pending: readonly MigrationFile[],
  analyses: ReadonlyArray<Pick<SqlAnalysis, 'escapes'> | undefined>,
  environment: EnvironmentConfig
): void {
  const refused = pending.flatMap((migration, index) => refusedStatements(migration.name, analyses[index]?.escapes ?? [], environment.policy.allow_statements))
  if (refused.length === 0) return
  throw new DeploymentFailure({
    error: `Refused: statements that reach beyond the ${environment.name} database: ${describeRefused(refused)}`,
    failedMigration: refused[0]?.migration ?? null,
    suggestions: [
      'Nothing was applied. A migration changes its own database only: remove these statements (server-level work is an operator\'s, done by hand)',
      `If it is intended: ${allowStatementsHint(environment.name, refused)}`
    ],
    extraResult: { refused_statements: refused }
  })
}

/** Files an external tool applies that are SQL nonetheless (Prisma's migration.sql under the command handler): checked too. */
export function isSqlApplied (migration: MigrationFile): boolean {
  return migration.appliedBy === undefined || migration.appliedBy.tool === 'prisma'
}
