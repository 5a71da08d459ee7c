import { loadPgParser } from './pg-parser.js'

/** A waiver as written in a migration file. */
export interface WaiverComment {
  rule: string
  reason: string
  /** 1-based line of the comment. */
  line: number
}

/** A `-- migration-deployer:` comment that is not a valid waiver. */
export interface MalformedWaiver {
  text: string
  line: number
}

const DIRECTIVE = /^--\s*migration-deployer\s*:/i
const WAIVER = /^--\s*migration-deployer\s*:\s*allow\s+([a-z0-9][a-z0-9-]*)\s+because\s+(\S.*?)\s*$/i

/**
 * The waivers of a migration file: `-- migration-deployer: allow <rule> because <reason>`. Read
 * from the comments the PostgreSQL scanner finds, so the same text inside a string literal is not
 * a waiver. A comment that starts like one but is not well formed (no rule, no reason) is returned
 * as malformed: the plan refuses it rather than ignore it.
 */
export async function readWaivers (sql: string): Promise<{ waivers: WaiverComment[], malformed: MalformedWaiver[] }> {
  const waivers: WaiverComment[] = []
  const malformed: MalformedWaiver[] = []
  if (!sql.includes('migration-deployer')) return { waivers, malformed }
  const { scanSync } = await loadPgParser()
  let tokens
  try {
    tokens = scanSync(sql).tokens ?? []
  } catch {
    return { waivers, malformed }
  }
  const bytes = Buffer.from(sql, 'utf8')
  for (const token of tokens) {
    if (token.tokenName !== 'SQL_COMMENT') continue
    const text = bytes.subarray(token.start, token.end).toString('utf8').trim()
    if (!DIRECTIVE.test(text)) continue
    const line = bytes.subarray(0, token.start).toString('utf8').split('\n').length
    const match = WAIVER.exec(text)
    if (match === null) malformed.push({ text, line })
    else waivers.push({ rule: (match[1] as string).toLowerCase(), reason: match[2] as string, line })
  }
  return { waivers, malformed }
}
