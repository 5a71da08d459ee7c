/**
 * What a tool's status output says: names in the tool's order. A list left undefined is "every
 * migration of the source not in the other lists" (Prisma lists only what is pending or failed);
 * with both undefined, the source's migrations before the first failed one are applied.
 */
export interface ToolStatus {
  applied?: string[]
  pending?: string[]
  failed: string[]
  /** Applied in the database but not in the project, as the tool itself reports it. */
  missing: string[]
}

/** Reads a tool's status output; undefined when the output is not one it recognizes. */
export type StatusParser = (lines: string[]) => ToolStatus | undefined

/** `typeorm migration:show`: `[X] 1 CreateUsers1736500000000` (applied), `[ ] AddPosts1736600000000` (pending). */
export const parseTypeormStatus: StatusParser = (lines) => {
  const applied: string[] = []
  const pending: string[] = []
  for (const line of lines) {
    const match = /^\s*\[(X| )\]\s+(?:\d+\s+)?(\S+)\s*$/.exec(line)
    if (match === null) continue
    ;(match[1] === 'X' ? applied : pending).push(match[2] as string)
  }
  return { applied, pending, failed: [], missing: [] }
}

/** `sequelize-cli db:migrate:status`: `up 20250110090000-create-customers.js`, `down …`. */
export const parseSequelizeStatus: StatusParser = (lines) => {
  const applied: string[] = []
  const pending: string[] = []
  for (const line of lines) {
    const match = /^(up|down)\s+(\S+)\s*$/.exec(line)
    if (match === null) continue
    ;(match[1] === 'up' ? applied : pending).push(match[2] as string)
  }
  return { applied, pending, failed: [], missing: [] }
}

const PRISMA_SECTIONS: Array<[RegExp, 'pending' | 'failed' | 'missing']> = [
  [/^Following migrations? have not yet been applied:$/, 'pending'],
  [/^The migrations? have not yet been applied:$/, 'pending'],
  [/^Following migrations? have failed:$/, 'failed'],
  [/^The migrations? from the database are not found locally in prisma\/migrations:$/, 'missing']
]

/**
 * `prisma migrate status` (Prisma 5 to 7), whose texts come from Prisma's MigrateStatus command:
 * sections headed "Following migrations have not yet been applied:", "… have failed:", and on
 * diverging histories "The migrations from the database are not found locally …", each a name
 * per line up to a blank line. Applied names are not listed: they are the rest of the folder.
 * "The current database is not managed by Prisma Migrate" means nothing is applied yet.
 */
export const parsePrismaStatus: StatusParser = (lines) => {
  const status: ToolStatus = { failed: [], missing: [] }
  let recognized = false
  let section: 'pending' | 'failed' | 'missing' | undefined
  for (const raw of lines) {
    const line = raw.trim()
    if (line === '') { section = undefined; continue }
    const heading = PRISMA_SECTIONS.find(([pattern]) => pattern.test(line))
    if (heading !== undefined) { section = heading[1]; recognized = true; continue }
    if (section !== undefined && /^\S+$/.test(line)) { (status[section] ??= []).push(line); continue }
    section = undefined
    if (/^(\d+ migrations? found|No migration found) in prisma\/migrations$/.test(line)) recognized = true
    if (/^Database schema is up to date!$/.test(line)) {
      recognized = true
      status.pending ??= []
    }
    // A new database: nothing applied, everything in the folder pending.
    if (/^The current database is not managed by Prisma Migrate\.?$/.test(line)) {
      recognized = true
      status.applied = []
    }
  }
  return recognized ? status : undefined
}

/** `status_format: patterns`: one regular expression for applied lines, one for pending, each with a `name` group. */
export function patternStatusParser (patterns: { applied: string, pending: string }): StatusParser {
  const applied = new RegExp(patterns.applied)
  const pending = new RegExp(patterns.pending)
  return (lines) => {
    const status = { applied: [] as string[], pending: [] as string[], failed: [], missing: [] }
    for (const line of lines) {
      const appliedName = applied.exec(line)?.groups?.name
      if (appliedName !== undefined) { status.applied.push(appliedName); continue }
      const pendingName = pending.exec(line)?.groups?.name
      if (pendingName !== undefined) status.pending.push(pendingName)
    }
    return status
  }
}
