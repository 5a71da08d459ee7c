import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { BadRequestError } from '../../errors/index.js'

/** The path of the first string (or key) holding U+0000 inside `value`, or undefined. */
function findNul (value: unknown, where: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? where : undefined
  if (depth > 64 || value === null || typeof value !== 'object') return undefined
  for (const [key, item] of Object.entries(value)) {
    const path = Array.isArray(value) ? `${where}.${key}` : `${where}.${key.replace(/\u0000/g, '\\u0000')}`
    if (key.includes('\u0000')) return path
    const found = findNul(item, path, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * PostgreSQL cannot store U+0000 in text or jsonb, and no id, name, comment or SQL needs it:
 * a request carrying one anywhere (path, query, body) is refused with a 400 naming where,
 * instead of failing deep inside with a database error.
 */
export default fp(async function nulGuardPlugin (app) {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    const where = findNul(request.params, 'params') ?? findNul(request.query, 'querystring') ?? findNul(request.body, 'body')
    if (where !== undefined) {
      throw new BadRequestError(`invalid request: ${where} contains a NUL character (U+0000), which no field accepts`, [{ path: where, message: 'contains a NUL character' }], 'VALIDATION_FAILED')
    }
  })
}, { name: 'nul-guard' })
