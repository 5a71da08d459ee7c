import { createHash } from 'node:crypto'

/** A strong ETag of a response body: the hash of its exact bytes. */
export function entityTag (body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`
}

/** Whether an If-None-Match header (`*`, one tag, a list, weak `W/` tags) matches `etag`. */
export function matchesEntityTag (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag)
}
