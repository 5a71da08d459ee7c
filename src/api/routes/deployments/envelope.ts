import type { FastifyRequest } from 'fastify'

/**
 * The seed's request form `{ "operation": …, "parameters": { … } }` means the same as the flat
 * form; unwrap it before validation so one schema validates both.
 */
export async function unwrapEnvelope (request: FastifyRequest): Promise<void> {
  const body = request.body
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return
  const { parameters, ...rest } = body as Record<string, unknown>
  if (parameters === undefined || parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) return
  request.body = { ...rest, ...(parameters as Record<string, unknown>) }
}
