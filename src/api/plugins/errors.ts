import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod'
import { AppError } from '../../errors/index.js'
import { maskSecretsDeep, safeErrorMessage } from '../../lib/mask-secrets.js'
import { describeConnectionError, isConnectionError } from '../../lib/connection-errors.js'

// PostgreSQL's character_not_in_repertoire and untranslatable_character: text it cannot store.
const TEXT_ENCODING_ERRORS = new Set(['22021', '22P05'])
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P03', '08006', '08001', '08003'])

// Fastify's own body-parsing errors, with stable codes and messages that say what to send instead.
const BODY_PARSE_ERRORS: Record<string, { status: number, code: string, message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'request body is not valid JSON: send a JSON object such as {"environment": "staging"}' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'request body is empty but content-type is application/json: send a JSON object such as {"environment": "staging"}, or no content-type' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content-type: send JSON with "Content-Type: application/json"' }
}

function body (code: string, message: string, details?: unknown): { error: { code: string, message: string, details?: unknown } } {
  return { error: details === undefined ? { code, message } : { code, message, details } }
}

function describeValidation (
  error: FastifyError & { validation: Array<{ instancePath: string; message?: string }> },
  context: string | undefined
): { message: string; details: Array<{ path: string; message: string }> } {
  const where = context ?? 'body'
  const details = error.validation.map((issue) => {
    const path = issue.instancePath === '' || issue.instancePath === '/' ? where : `${where}${issue.instancePath.replace(/\//g, '.')}`
    return { path, message: issue.message ?? 'is invalid' }
  })
  return { message: `invalid request: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details }
}

/**
 * One error handler for the whole API: every error becomes `{error: {code, message, details}}`,
 * 4xx messages say what to fix, and 5xx never show internals, stack traces or credentials.
 */
export default fp(async function errorsPlugin (app) {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const { message, details } = describeValidation(error, error.validationContext)
      return await reply.code(400).send(body('VALIDATION_FAILED', message, details))
    }
    if (error instanceof AppError) {
      if (error.statusCode >= 500) request.log.error({ err: { message: safeErrorMessage(error), code: error.code } }, 'request failed')
      return await reply.code(error.statusCode).send(body(error.code, safeErrorMessage(error), maskSecretsDeep(error.details)))
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: { message: safeErrorMessage(error) } }, 'response did not match its schema')
      return await reply.code(500).send(body('INTERNAL_ERROR', 'internal error: the response could not be produced'))
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return await reply.code(413).send(body('PAYLOAD_TOO_LARGE', `request body is larger than the server's limit of ${app.services.config.limits.body_bytes} bytes; send fewer or smaller migrations per deployment, or ask an operator to raise limits.body_bytes`))
    }
    const parseError = error.code === undefined ? undefined : BODY_PARSE_ERRORS[error.code]
    if (parseError !== undefined) return await reply.code(parseError.status).send(body(parseError.code, parseError.message))
    const code = (error as { code?: string }).code
    if (code !== undefined && TEXT_ENCODING_ERRORS.has(code)) {
      return await reply.code(400).send(body('INVALID_TEXT', 'the request holds text the database cannot store (a NUL character or an invalid byte sequence); remove it and retry'))
    }
    if ((code !== undefined && CONNECTION_ERRORS.has(code)) || isConnectionError(error)) {
      // Routes reach Redis only through calls that degrade on their own, so this is the control database.
      request.log.error({ err: { message: safeErrorMessage(error), code } }, 'the control database is unavailable')
      return await reply.code(503).header('retry-after', '5').send(body('SERVICE_UNAVAILABLE',
        `the control database is unavailable (${describeConnectionError(error)}): the request could not be completed; retry shortly. GET /readyz shows each dependency's state`,
        { dependency: 'control_database' }))
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return await reply.code(status).send(body(code ?? 'BAD_REQUEST', safeErrorMessage(error)))
    }
    request.log.error({ err: { message: safeErrorMessage(error), code } }, 'unexpected error')
    return await reply.code(500).send(body('INTERNAL_ERROR', 'internal error; the server log has the details'))
  })

  app.setNotFoundHandler(async (request, reply) => {
    return await reply.code(404).send(body('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}; see /docs for the API`))
  })
}, { name: 'errors' })

const FRAMEWORK_ERRORS: Record<string, { status: number, code: string, message: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL', message: 'the URL path is not valid: check its percent-encoding (a "%" must be followed by two hex digits)' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URL_TOO_LONG', message: 'a path segment of the URL is too long: ids and names are at most 200 characters' }
}

/**
 * Fastify's `frameworkErrors` option: errors the router raises before any route or hook runs
 * (a malformed percent-encoding, an over-long path segment) get the same error body as the rest.
 */
export function frameworkErrorHandler (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const known = FRAMEWORK_ERRORS[error.code]
  void reply.code(known?.status ?? 400).header('x-content-type-options', 'nosniff')
    .send(body(known?.code ?? 'BAD_REQUEST', known?.message ?? 'the request could not be routed'))
}
