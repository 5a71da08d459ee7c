import path from 'node:path'
import { PUBLIC_HISTORY_SHAPE, writePrismaHistory } from './lib/prisma-history.js'

/**
 * `npx tsx bench/generate-history.ts <folder> [migrations]`: writes the synthetic Prisma history
 * the bench deploys (the shape of a 434-migration public history; see lib/prisma-history.ts) into
 * `<folder>`, which must not exist yet or be empty.
 */
const [folder, count] = process.argv.slice(2)
if (folder === undefined) {
  process.stderr.write('usage: npx tsx bench/generate-history.ts <folder> [migrations]\n')
  process.exit(2)
}
const shape = count === undefined ? PUBLIC_HISTORY_SHAPE : { ...PUBLIC_HISTORY_SHAPE, migrations: Number(count) }
const written = await writePrismaHistory(path.resolve(folder), shape)
process.stdout.write(`${written.names.length} migrations in ${written.folder}: ${JSON.stringify(written.kinds)}\n`)
