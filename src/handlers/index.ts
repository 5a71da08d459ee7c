import type { EnvironmentConfig } from '../config/load.js'
import { prismaHandler } from './prisma/index.js'
import type { MigrationHandler } from './types.js'

const HANDLERS: Record<EnvironmentConfig['migration_tool'], MigrationHandler> = {
  prisma: prismaHandler
}

/** The handler for an environment's configured migration tool. */
export function handlerFor (environment: Pick<EnvironmentConfig, 'migration_tool'>): MigrationHandler {
  return HANDLERS[environment.migration_tool]
}
