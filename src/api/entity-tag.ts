import { createHash } from 'node:crypto'

/** A strong ETag of a JSON-able resource: the hash of its serialized form. */
export function entityTag (resource: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(resource)).digest('hex').slice(0, 32)}"`
}

/** Whether an If-None-Match header (`*`, one tag, a list, weak `W/` tags) matches `etag`. */
export function matchesEntityTag (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag)
}
