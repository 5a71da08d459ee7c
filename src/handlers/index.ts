import type { EnvironmentConfig } from '../config/load.js'
import { createCommandHandler } from './command/index.js'
import { prismaHandler } from './prisma/index.js'
import { createSqlHandler } from './sql/index.js'
import type { MigrationHandler } from './types.js'

/**
 * The handler for an environment's configured migration tool. `project` is the resolved project
 * folder of the deployment (its working_directory inside the workspace): the command handler runs
 * its tool there; the others read it only through `readSource`.
 */
export function handlerFor (environment: Pick<EnvironmentConfig, 'migration_tool' | 'sql' | 'command'>, project?: string): MigrationHandler {
  switch (environment.migration_tool) {
    case 'prisma': return prismaHandler
    case 'sql': return createSqlHandler(environment.sql)
    case 'command': {
      // The config schema requires `command` with migration_tool command.
      if (environment.command === undefined) throw new Error('migration_tool command without a command config')
      return createCommandHandler(environment.command, project)
    }
  }
}
