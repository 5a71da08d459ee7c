import { serializerCompiler } from 'fastify-type-provider-zod'
import type pg from 'pg'
import { NotFoundError } from '../errors/index.js'
import { CoalescedReads } from '../lib/coalesced-reads.js'
import { deploymentSchema, type DeploymentResource } from '../schemas/deployment.js'
import { readDeploymentVersion, readDeploymentWithApprovals } from '../store/read-deployment.js'
import { toDeploymentResource } from './deployment-resource.js'
import { entityTag } from './entity-tag.js'

/** One deployment as the API shows it, read with one query; 404 when there is none. */
export async function loadDeploymentResource (pool: pg.Pool, id: string): Promise<DeploymentResource> {
  const found = await readDeploymentWithApprovals(pool, id)
  if (found === undefined) throw new NotFoundError(`deployment ${id} not found`)
  return toDeploymentResource(found.row, found.approvals, found.fleet)
}

/** A deployment serialized through its response schema, and the strong ETag of exactly those bytes. */
export interface SerializedDeployment {
  bytes: Buffer
  etag: string
}

export interface DeploymentReadsOptions {
  /** Bytes of serialized resources kept, least recently used out first (default 8 MB). */
  maxCachedBytes?: number
}

// A resource larger than this share of the cache (a plan of thousands of migrations) is never kept.
const MAX_ENTRY_SHARE = 8

/**
 * The polling path of `GET /deployments/:id`: the resource serialized through its response
 * schema (the serializer the route would use), as bytes ready to send, with their ETag.
 *
 * - A poll of a deployment that has not changed costs one small query: the bytes of its last read
 *   are kept with the versions of the rows they were made from, and reused while the database
 *   still holds those versions (checked on every poll, so an answer is never older than the poll).
 * - Concurrent polls of one deployment share that work (CoalescedReads: never a value read before
 *   the request came), so a hundred pollers cost one query per round instead of a hundred.
 */
export function createDeploymentReads (pool: pg.Pool, options: DeploymentReadsOptions = {}): { get: (id: string) => Promise<SerializedDeployment> } {
  const serialize = serializerCompiler({ schema: deploymentSchema, method: 'GET', url: '/deployments/:id' })
  const maxBytes = options.maxCachedBytes ?? 8 * 1024 * 1024
  const cache = new Map<string, { version: string, serialized: SerializedDeployment }>()
  let cachedBytes = 0

  const forget = (id: string): void => {
    const entry = cache.get(id)
    if (entry === undefined) return
    cache.delete(id)
    cachedBytes -= entry.serialized.bytes.length
  }
  const keep = (id: string, version: string, serialized: SerializedDeployment): void => {
    forget(id)
    if (serialized.bytes.length > maxBytes / MAX_ENTRY_SHARE) return
    cache.set(id, { version, serialized })
    cachedBytes += serialized.bytes.length
    for (const oldest of cache.keys()) {
      if (cachedBytes <= maxBytes) break
      forget(oldest)
    }
  }
  const notFound = (id: string): NotFoundError => {
    forget(id)
    return new NotFoundError(`deployment ${id} not found`)
  }

  const read = async (id: string): Promise<SerializedDeployment> => {
    const cached = cache.get(id)
    if (cached !== undefined) {
      const version = await readDeploymentVersion(pool, id)
      if (version === undefined) throw notFound(id)
      if (version === cached.version) {
        // Most recently used last, so the least recently used go first.
        cache.delete(id)
        cache.set(id, cached)
        return cached.serialized
      }
    }
    const found = await readDeploymentWithApprovals(pool, id)
    if (found === undefined) throw notFound(id)
    const bytes = Buffer.from(serialize(toDeploymentResource(found.row, found.approvals, found.fleet)), 'utf8')
    const serialized = { bytes, etag: entityTag(bytes) }
    keep(id, found.version, serialized)
    return serialized
  }

  const reads = new CoalescedReads(read)
  return { get: async (id) => await reads.get(id) }
}
