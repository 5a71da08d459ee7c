import type { EnvironmentConfig } from '../../config/load.js'
import { AppError } from '../../errors/index.js'
import { connectTarget } from '../../lib/target-connection.js'
import { registerUrlSecret, safeErrorMessage } from '../../lib/mask-secrets.js'

/** One database (or schema) of a fleet: its name, and its URL, which is never stored or shown. */
export interface FleetTarget {
  name: string
  url: string
}

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

function variable (env: NodeJS.ProcessEnv, environment: EnvironmentConfig, name: string, what: string): string {
  const value = env[name]
  if (value === undefined || value === '') {
    throw new AppError('TARGET_NOT_CONFIGURED', 500, `environment ${environment.name}: the variable ${name} (${what}) is not set in the worker's environment`)
  }
  registerUrlSecret(value)
  return value
}

/**
 * The targets of a fleet environment (SPEC §14), in a stable order: the list as configured, or
 * the catalog query's names (sorted) with each put into the URL template where `{name}` stands.
 * A name is URL-encoded into the template, so `?schema={name}` and `/{name}` both work.
 */
export async function resolveFleetTargets (environment: EnvironmentConfig, env: NodeJS.ProcessEnv): Promise<FleetTarget[]> {
  const targets = environment.targets
  if (targets === undefined) throw new AppError('NOT_A_FLEET', 500, `environment ${environment.name} has no targets`)
  if ('list' in targets) {
    return targets.list.map((t) => ({ name: t.name, url: variable(env, environment, t.database_url_env, `the URL of target ${t.name}`) }))
  }
  const template = variable(env, environment, targets.url_template_env, 'the targets\' URL template')
  if (!template.includes('{name}')) {
    throw new AppError('TARGET_NOT_CONFIGURED', 500, `environment ${environment.name}: the URL template in ${targets.url_template_env} has no {name} placeholder`)
  }
  const catalog = await connectTarget(variable(env, environment, targets.catalog_url_env, 'the catalog database URL'), { applicationName: 'migration-deployer catalog' })
  let names: string[]
  try {
    const { rows } = await catalog.query<unknown[]>({ text: targets.names_query, rowMode: 'array' })
    names = rows.map((row) => String(row[0]))
  } catch (error) {
    throw new AppError('TARGET_CATALOG_FAILED', 500, `environment ${environment.name}: the names_query failed on the catalog: ${safeErrorMessage(error)}`)
  } finally {
    await catalog.end().catch(() => {})
  }
  const bad = names.filter((name) => !TARGET_NAME.test(name))
  if (bad.length > 0) {
    throw new AppError('TARGET_CATALOG_FAILED', 500, `environment ${environment.name}: the catalog returned names that are not target names (letters, digits, _ . -): ${bad.slice(0, 5).join(', ')}`)
  }
  const unique = [...new Set(names)].sort()
  return unique.map((name) => {
    const url = template.replaceAll('{name}', encodeURIComponent(name))
    registerUrlSecret(url)
    return { name, url }
  })
}

/**
 * Runs `work` over `items` with at most `limit` at once, in order of start; resolves when all are
 * done. `stop` is asked before each start: once it says so, the rest are not started. A failing
 * `work` stops further starts too; its error is thrown once every started one has finished (none
 * is left running behind the caller's back).
 */
export async function forEachLimited<T> (
  items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>, stop: () => boolean = () => false
): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && failure === undefined && !stop()) {
      const index = next++
      try {
        await work(items[index] as T, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  })
  await Promise.all(lanes)
  if (failure !== undefined) throw failure.error
}
