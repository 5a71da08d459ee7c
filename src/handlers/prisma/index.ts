import { createHistoryHandler } from '../shared/history-handler.js'
import { PRISMA_ADVISORY_LOCK_KEY, prismaHistoryTable } from './history-table.js'
import { checkPrismaMigrations, compareNamesBytewise, readPrismaMigrations } from './read-migrations.js'

/** The Prisma Migrate handler: Prisma's folder layout, history table and lock, byte-compatible. */
export const prismaHandler = createHistoryHandler({
  tool: 'prisma',
  readSource: readPrismaMigrations,
  checkSource: checkPrismaMigrations,
  // Inline uploads are applied in Prisma's order: byte-wise by name.
  orderSource: (migrations) => [...migrations].sort((a, b) => compareNamesBytewise(a.name, b.name)),
  table: prismaHistoryTable,
  lockKey: PRISMA_ADVISORY_LOCK_KEY
})
