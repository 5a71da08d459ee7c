import type { Config, EnvironmentConfig } from '../config/load.js'
import { BadRequestError } from '../errors/index.js'
import type { MigrationFile, MigrationHandler } from '../handlers/types.js'
import { resolveInsideWorkspace } from '../lib/workspace-path.js'
import type { DeploymentRow } from '../domain/index.js'

/**
 * The migrations a deployment deploys: its uploaded bundle if it has one (exactly those bytes),
 * else the folder `working_directory` (or the environment's default) inside the workspace.
 */
export async function loadMigrationSource (
  deployment: Pick<DeploymentRow, 'inline_migrations' | 'working_directory'>,
  environment: EnvironmentConfig,
  config: Config,
  handler: MigrationHandler
): Promise<MigrationFile[]> {
  if (deployment.inline_migrations !== null) {
    return handler.orderSource([...deployment.inline_migrations])
  }
  const project = await projectDirectoryOf(deployment, environment, config)
  if (project === undefined) {
    throw new BadRequestError(`environment ${environment.name} has no working_directory configured; send "migrations" inline or a "working_directory"`, undefined, 'NO_MIGRATION_SOURCE')
  }
  return await handler.readSource(project, config.workspace_root)
}

/**
 * The project folder a deployment deploys from (its `working_directory`, else the environment's,
 * resolved inside the workspace), or undefined for inline uploads and environments without one.
 * The command handler runs its tool there.
 */
export async function projectDirectoryOf (
  deployment: Pick<DeploymentRow, 'inline_migrations' | 'working_directory'>,
  environment: EnvironmentConfig,
  config: Config
): Promise<string | undefined> {
  if (deployment.inline_migrations !== null) return undefined
  const directory = deployment.working_directory ?? environment.working_directory
  return directory === undefined ? undefined : await resolveInsideWorkspace(config.workspace_root, directory)
}
