import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { BadRequestError } from '../../errors/index.js'

/**
 * The path of the first string (or key) holding U+0000 inside `value`, as keys from the outside
 * in, or undefined. The path is put together only when one is found (most requests have none).
 */
function findNul (value: unknown, depth = 0): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? [] : undefined
  if (depth > 64 || value === null || typeof value !== 'object') return undefined
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (key.includes('\u0000')) return [key]
    const found = findNul((value as Record<string, unknown>)[key], depth + 1)
    if (found !== undefined) return [key, ...found]
  }
  return undefined
}

/** Where in `part` of the request (params, querystring, body) a NUL is, if anywhere. */
function nulIn (part: string, value: unknown): string | undefined {
  const path = findNul(value)
  return path === undefined ? undefined : whereOf(part, path)
}

/** Where a NUL was found, as shown in the error: `body.migrations.0.sql`, NUL in keys spelled `\u0000`. */
function whereOf (part: string, path: string[]): string {
  // eslint-disable-next-line no-control-regex -- NUL is exactly what this guard finds
  return [part, ...path.map((key) => key.replace(/\u0000/g, '\\u0000'))].join('.')
}

/**
 * PostgreSQL cannot store U+0000 in text or jsonb, and no id, name, comment or SQL needs it:
 * a request carrying one anywhere (path, query, body) is refused with a 400 naming where,
 * instead of failing deep inside with a database error.
 */
export default fp(async function nulGuardPlugin (app) {
  app.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    const where = nulIn('params', request.params) ?? nulIn('querystring', request.query) ?? nulIn('body', request.body)
    if (where === undefined) {
      done()
      return
    }
    done(new BadRequestError(`invalid request: ${where} contains a NUL character (U+0000), which no field accepts`, [{ path: where, message: 'contains a NUL character' }], 'VALIDATION_FAILED'))
  })
}, { name: 'nul-guard' })
