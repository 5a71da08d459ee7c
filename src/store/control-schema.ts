import { fileURLToPath } from 'node:url'

/**
 * The control database's own migrations, in Prisma's layout: the service dogfoods its engine
 * (process/migrate-control-database.ts applies them with the Prisma handler).
 */
export const CONTROL_MIGRATIONS_DIR = fileURLToPath(new URL('../../src/store/migrations', import.meta.url))
