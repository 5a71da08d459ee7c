import type { EnvironmentConfig } from '../config/load.js'

/**
 * What a failed deployment's report suggests, by kind of failure, so that the same failure gets
 * the same advice whichever step found it (the health check before, the pending-migration check,
 * the health check after).
 */
export type FailureKind =
  /** The target did not answer: down, unreachable, wrong URL or credentials, too slow. */
  | 'unreachable'
  /** Connected, but the history table could not be read. */
  | 'history_unreadable'
  /** A migration started in an earlier deployment never finished (a failed history row). */
  | 'unfinished_migration'
  /** An applied migration was edited or is missing from the source. */
  | 'drift'
  /** A custom `health_check.sql` query failed or returned false. */
  | 'custom_check'

/** One health-check result, as `runHealthChecks` reports it. */
export interface CheckOutcome {
  check: string
  passed: boolean
  message: string
}

type EnvironmentFacts = Pick<EnvironmentConfig, 'name' | 'mode' | 'database_url_env'>

export interface SuggestionContext {
  environment: EnvironmentFacts
  /** The migrations concerned (unfinished ones), when known. */
  migrations?: string[]
  /** The custom check that failed. */
  check?: string
}

/** The suggestions for one kind of failure. */
export function recoverySuggestions (kind: FailureKind, context: SuggestionContext): string[] {
  const { environment } = context
  const status = `Run GET /environments/${environment.name}/status to see the database's state`
  switch (kind) {
    case 'unreachable':
      return [
        `Check that the database of ${environment.name} is running and reachable from the worker, ` +
          `and that ${environment.database_url_env} holds its URL and credentials; then deploy again`,
        status
      ]
    case 'history_unreadable':
      return [
        `The migration history table could not be read: check that the role in ${environment.database_url_env} ` +
          'may read and write it (or create it, on a new database), then deploy again',
        status
      ]
    case 'unfinished_migration': {
      const name = context.migrations?.[0] ?? '<migration>'
      const resolve = `POST /environments/${environment.name}/migrations/${name}/resolve`
      return [`Fix the database by hand, then mark it with ${resolve} {"as":"applied"} or {"as":"rolled_back"}`]
    }
    case 'drift':
      return [
        'Restore the applied migration files exactly as they were applied ' +
          `(compare checksums with GET /environments/${environment.name}/status), then deploy again. ` +
          'An inline upload (deploy --dir) is the whole source: it must hold every applied migration, not only the new ones',
        ...(environment.mode === 'dev' ? ['In dev, set reset_on_drift: true on the environment to reset the database and reapply every migration'] : [])
      ]
    case 'custom_check': {
      const name = context.check === undefined ? '' : ` ${context.check}`
      return [`The custom health check${name} (health_check.sql in the config) failed: fix what it checks, or its query, then deploy again`]
    }
  }
}

/** The kind of failure a failed check stands for. */
export function failureKindOf (outcome: CheckOutcome): FailureKind {
  if (outcome.check === 'connectivity') return 'unreachable'
  if (outcome.check === 'migrations') return 'drift'
  if (outcome.check.startsWith('sql:')) return 'custom_check'
  // `schema`: either the table could not be read, or it holds unfinished migrations.
  return /^unfinished or failed migrations/.test(outcome.message) ? 'unfinished_migration' : 'history_unreadable'
}

/**
 * The suggestions for a failed health check: those of each kind of failure it found, in the
 * order found, without repeats.
 */
export function healthCheckSuggestions (outcomes: CheckOutcome[], environment: EnvironmentFacts): string[] {
  const suggestions: string[] = []
  for (const outcome of outcomes.filter((o) => !o.passed)) {
    const kind = failureKindOf(outcome)
    const migrations = kind === 'unfinished_migration' ? unfinishedNames(outcome.message) : undefined
    const check = kind === 'custom_check' ? outcome.check.slice('sql:'.length) : undefined
    const context: SuggestionContext = { environment, ...(migrations === undefined ? {} : { migrations }), ...(check === undefined ? {} : { check }) }
    for (const suggestion of recoverySuggestions(kind, context)) {
      if (!suggestions.includes(suggestion)) suggestions.push(suggestion)
    }
  }
  return suggestions
}

/** `unfinished or failed migrations: a (started …), b (started …)` → [a, b]. */
function unfinishedNames (message: string): string[] {
  const list = message.replace(/^unfinished or failed migrations:\s*/, '')
  return [...list.matchAll(/(?:^|, )([^\s,(]+) \(/g)].map((match) => match[1] as string)
}
