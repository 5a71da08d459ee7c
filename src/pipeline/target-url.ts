import type { EnvironmentConfig } from '../config/load.js'
import { AppError } from '../errors/index.js'
import { registerUrlSecret } from '../lib/mask-secrets.js'

/** Reads an environment's database URL from the variable its config names; the URL is never stored. */
export function targetUrlFor (environment: EnvironmentConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (environment.database_url_env === undefined) {
    throw new AppError('FLEET_ENVIRONMENT', 400, `environment ${environment.name} is a fleet (targets): it has no single database URL; see GET /deployments/:id/targets`)
  }
  const url = env[environment.database_url_env]
  if (url === undefined || url === '') {
    throw new AppError('TARGET_NOT_CONFIGURED', 500, `environment ${environment.name}: the variable ${environment.database_url_env} is not set in the worker's environment`)
  }
  registerUrlSecret(url)
  return url
}
