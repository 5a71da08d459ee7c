import type { Config } from '../config/load.js'

export interface UnsetDatabaseUrl {
  environment: string
  variable: string
  message: string
}

/**
 * The environments whose target URL variable (`database_url_env`) is unset or empty in this
 * process, each with the one warning line to log at start: their deployments would fail at the
 * first step, so say it before anyone deploys.
 */
export function unsetDatabaseUrlWarnings (config: Pick<Config, 'environments'>, env: NodeJS.ProcessEnv): UnsetDatabaseUrl[] {
  return Object.entries(config.environments)
    .filter(([, environment]) => env[environment.database_url_env] === undefined || env[environment.database_url_env] === '')
    .map(([name, environment]) => ({
      environment: name,
      variable: environment.database_url_env,
      message: `environment ${name}: ${environment.database_url_env} is not set in this process, so deployments to ${name} will fail; ` +
        `export its database URL (for a local one: migration-deployer dev-db create <name>) and restart`
    }))
}
