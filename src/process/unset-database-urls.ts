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
  // A fleet (targets) names no single URL variable; its targets' variables are read when it deploys.
  return Object.entries(config.environments)
    .flatMap(([name, environment]) => environment.database_url_env === undefined ? [] : [{ name, variable: environment.database_url_env }])
    .filter(({ variable }) => env[variable] === undefined || env[variable] === '')
    .map(({ name, variable }) => ({
      environment: name,
      variable,
      message: `environment ${name}: ${variable} is not set in this process, so deployments to ${name} will fail; ` +
        `export its database URL (for a local one: migration-deployer dev-db create <name>) and restart`
    }))
}
