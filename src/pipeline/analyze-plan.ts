import type { Logger } from 'pino'
import { analyzeMigrationSqlCached, lintCached, type LintWarning } from '../analysis/index.js'
import type { Config, EnvironmentConfig } from '../config/load.js'
import { MigrationTooLargeError, ParseTimeoutError } from '../errors/index.js'
import type { MigrationFile } from '../handlers/types.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import type { Plan } from '../domain/index.js'
import { DeploymentFailure } from './deployment-failure.js'
import { isSqlApplied, refuseEscapingStatements } from './refuse-escaping-statements.js'

type AnalysisLimitsConfig = Pick<Config['limits'], 'max_statements_per_migration' | 'parse_timeout'>

/**
 * Parses every pending migration with the PostgreSQL parser (a syntax error fails the plan before
 * anything runs), marks those that cannot run in a transaction, and adds squawk's warnings so a
 * release manager sees "drops a column" before approving. Rules in `lint.block_on` fail the plan, and
 * so do statements that reach beyond the database unless `policy.allow_statements` lists them.
 * Parsing and linting run on worker threads, within `limits` (statements and time per migration).
 */
export async function analyzePlan (
  plan: Plan,
  pending: MigrationFile[],
  environment: EnvironmentConfig,
  logger: Logger,
  limits?: AnalysisLimitsConfig
): Promise<Plan> {
  // squawk runs in its own process while the parser runs on worker threads: a cold plan takes the
  // longer of the two, not their sum. `lint` never throws, so a plan refused below leaves nothing unhandled.
  const linting = lint(pending.filter((migration) => migration.appliedBy === undefined), environment, logger)
  // Files an external tool applies (command handler) are shown as written, not parsed as SQL.
  const analyses = await Promise.all(pending.map(async (migration) => (migration.appliedBy === undefined ? await analyzeWithin(migration, limits) : undefined)))
  const syntaxErrors = analyses.flatMap((analysis, index) =>
    analysis?.parseError === undefined
      ? []
      : [`${pending[index]?.name ?? ''}${analysis.parseError.line === undefined ? '' : ` line ${analysis.parseError.line}`}: ${analysis.parseError.message}`]
  )
  if (syntaxErrors.length > 0) {
    throw new DeploymentFailure({
      error: `Migration SQL does not parse: ${syntaxErrors.join('; ')}`,
      suggestions: ['Fix the SQL and deploy again; nothing was applied'],
      extraResult: { syntax_errors: syntaxErrors }
    })
  }
  // Statements that reach beyond the database are refused before anything else is spent on the plan.
  const escapeAnalyses = await Promise.all(
    pending.map(async (migration, index) => analyses[index] ?? (isSqlApplied(migration) ? await analyzeWithin(migration, limits) : undefined))
  )
  refuseEscapingStatements(pending, escapeAnalyses, environment)
  const warnings = await linting
  const migrations = plan.migrations.map((migration, index) => {
    const analysis = analyses[index]
    const nonTransactional = (analysis?.nonTransactionalReasons ?? []).map((reason) => ({
      rule: 'non-transactional',
      message: `${reason}: this migration runs outside a transaction; if it fails midway its history row is left failed and must be resolved`
    }))
    const ownTransaction =
      analysis?.managesOwnTransaction === true
        ? [{ rule: 'own-transaction', message: 'This file issues its own BEGIN/COMMIT: it runs as written, not wrapped in a transaction' }]
        : []
    const appliedBy = pending[index]?.appliedBy
    const external =
      appliedBy === undefined
        ? []
        : [
            {
              rule: 'external-tool',
              message: `Applied by ${appliedBy.tool} (command handler): the file is shown as written and not analysed here; ${appliedBy.tool} ${appliedBy.transactional ? 'runs migrations in a transaction by default' : 'does not wrap migrations in a transaction: a failure midway leaves the earlier statements applied'}`
            }
          ]
    return {
      ...migration,
      transactional: appliedBy?.transactional ?? (analysis?.transactional === true && analysis.managesOwnTransaction !== true),
      warnings: [
        ...external,
        ...nonTransactional,
        ...ownTransaction,
        ...(warnings.get(migration.name) ?? []).map((w) => ({ rule: w.rule, message: w.line === undefined ? w.message : `line ${w.line}: ${w.message}` }))
      ]
    }
  })
  const blocked = migrations.flatMap((m) => m.warnings.filter((w) => environment.lint.block_on.includes(w.rule)).map((w) => `${m.name}: ${w.rule}`))
  if (blocked.length > 0) {
    throw new DeploymentFailure({
      error: `Blocked by lint rules (lint.block_on): ${blocked.join(', ')}`,
      suggestions: ['Rewrite the migration to avoid the flagged change, or remove the rule from lint.block_on for this environment if the change is intended'],
      extraResult: { blocked_by_lint: blocked }
    })
  }
  return { ...plan, migrations }
}

async function lint (pending: MigrationFile[], environment: EnvironmentConfig, logger: Logger): Promise<Map<string, LintWarning[]>> {
  if (!environment.lint.enabled || pending.length === 0) return new Map()
  try {
    return await lintCached(pending, { excludedRules: environment.lint.exclude, assumeInTransaction: true })
  } catch (error) {
    // Lint informs the reviewer; if squawk cannot run, say so in every migration's warnings rather than block.
    logger.warn({ err: { message: safeErrorMessage(error) } }, 'squawk lint failed')
    return new Map(pending.map((m) => [m.name, [{ rule: 'lint-unavailable', message: `squawk could not run: ${safeErrorMessage(error)}`, level: 'warning' }]]))
  }
}

/** One migration's analysis; a migration past the limits fails the plan, naming it and the limit. */
async function analyzeWithin (
  migration: MigrationFile,
  limits: AnalysisLimitsConfig | undefined
): Promise<Awaited<ReturnType<typeof analyzeMigrationSqlCached>>> {
  try {
    return await analyzeMigrationSqlCached(migration.sql, { maxStatements: limits?.max_statements_per_migration, timeoutMs: limits?.parse_timeout })
  } catch (error) {
    if (error instanceof MigrationTooLargeError) {
      throw new DeploymentFailure(
        {
          error: `Migration ${migration.name} is too large: ${error.message} (limits.max_statements_per_migration)`,
          failedMigration: migration.name,
          suggestions: [
            'Split the migration into several smaller ones; nothing was applied',
            'Or ask an operator to raise limits.max_statements_per_migration'
          ],
          extraResult: { error_code: error.code, statements: error.statements, limit: error.limit }
        },
        error
      )
    }
    if (error instanceof ParseTimeoutError) {
      throw new DeploymentFailure(
        {
          error: `Migration ${migration.name} could not be parsed in time: ${error.message} (limits.parse_timeout)`,
          failedMigration: migration.name,
          suggestions: [
            'Split the migration into several smaller ones, or simplify its statements; nothing was applied',
            'Or ask an operator to raise limits.parse_timeout'
          ],
          extraResult: { error_code: error.code, timeout_ms: error.timeoutMs }
        },
        error
      )
    }
    throw error
  }
}
